-- The server settings and their defaults, mirroring SCHEMA in server/settings.py (client-only keys left out).
-- One `key = value,` per line: the schema drift test parses this file.
return {
  baseUrl = "",
  model = "",
  apiKeyEnv = "OPENAI_API_KEY",
  candidates = 8,
  tests = 12,
  earlyStop = true,
  extraCandidates = 0,
  temperature = 0.8,
  maxTokens = 1024,
  useNParameter = true,
  stream = true,
  requestTimeout = 60,
  automaticTimeout = 20,
  publishDiagnostics = true,
  interpreter = "",
  maxTokensPerJob = 60000,
  maxTokensPerDay = 2000000,
  priceInputPerMTok = 0,
  priceOutputPerMTok = 0,
  cassette = "",
}
