/**
 * Counters the four-letter words report (srvr, stat, mntr, cons): packets in and out and
 * request latency, for the server and for each connection.
 */
export class ServerStats {
  packetsReceived = 0;
  packetsSent = 0;
  requests = 0;
  latencyMinMs = Number.POSITIVE_INFINITY;
  latencyMaxMs = 0;
  latencyTotalMs = 0;
  connectionsOpened = 0;
  readonly startedAt = Date.now();

  observeLatency(ms: number): void {
    this.requests++;
    this.latencyTotalMs += ms;
    this.latencyMinMs = Math.min(this.latencyMinMs, ms);
    this.latencyMaxMs = Math.max(this.latencyMaxMs, ms);
  }

  /** `min/avg/max` as srvr prints it (0/0.0/0 before any request). */
  latencySummary(): { min: number; avg: number; max: number } {
    if (this.requests === 0) return { min: 0, avg: 0, max: 0 };
    return {
      min: this.latencyMinMs,
      avg: this.latencyTotalMs / this.requests,
      max: this.latencyMaxMs,
    };
  }
}
