// One colour per metric, for every chart on the site (the run page, Compare, sweeps).
// Successes are green; errors are warm, each cause its own fixed colour; latency percentiles are
// one cool family, light to dark as the percentile rises. A metric that means the same thing in
// two charts (session_lost errors and users logged out, say) has the same colour in both.
export const COLORS = Object.freeze({
  // throughput
  offered: "#8a96a3",       // what the clients asked for: neutral grey
  ok: "#2e9b57",            // successes: green, and only successes
  attempts: "#7a5cc2",      // attempts, retries included: violet
  // latency: one blue family
  p50: "#74b3e8",
  p90: "#4a94d6",
  p95: "#2f70c0",
  p99: "#1b3f8c",
  p999: "#0f255c",
  max: "#5b4a9e",
  mean: "#3f8fb5",
  // errors by cause: warm colours
  errors: "#d1352b",        // every cause together
  overload: "#d1352b",
  timeout: "#f28a1d",
  unavailable: "#8e2a0e",
  session_lost: "#d9598c",
  upload_failed: "#c99a16",
  error: "#a8552a",
  circuit_open: "#6b2d5c",  // resilience: failures the design chose (a breaker, a limit, a shed)
  rate_limited: "#e0693a",
  shed: "#9c6b3f",
  // what errors cost users
  logged_out: "#d9598c",    // = session_lost
  duplicate: "#b0236b",
  upload_failures: "#c99a16", // = upload_failed
  // fleet
  up: "#2f7d6d",
  starting: "#a3adb8",
  cost: "#5b6675",
  // chart furniture
  marker: "#b3541e",
  cursor: "#1b2430",
});

export const CAUSES = ["overload", "timeout", "unavailable", "session_lost", "upload_failed", "error",
  "circuit_open", "rate_limited", "shed"];

// Words for each error cause, for legends and sentences.
export const CAUSE_LABELS = Object.freeze({
  overload: "overload", timeout: "timeout", unavailable: "unavailable",
  session_lost: "session lost", upload_failed: "upload failed", error: "error",
  circuit_open: "circuit open", rate_limited: "rate limited", shed: "shed",
});

// The colour of a metric by its name, with a neutral fallback for a name not listed here.
export function colorOf(name) {
  return COLORS[name] || "#5b6675";
}
