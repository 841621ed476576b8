/** A GPU job's heartbeat between its trainer's events, so a slow step is not taken for a lost worker. */
const HEARTBEAT_EVERY_MS = 5000;

/** Calls `beat` every few seconds until the returned function stops it. */
export function startHeartbeat(beat: () => void): () => void {
  const ticker = setInterval(beat, HEARTBEAT_EVERY_MS);
  return () => clearInterval(ticker);
}
