// Preloaded into the dynamic-provider host (node -r) by providerHost.ts: the host exits when
// the harness process is gone (its end of the stdin pipe closes), however that process died.
// The host itself never reads stdin; nothing else about it changes.
"use strict";
process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
process.stdin.resume();
