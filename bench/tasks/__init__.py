"""The selection benchmark's task set: one module per batch of tasks, each holding `TASKS`."""
