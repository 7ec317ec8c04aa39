// What /readyz reports: this replica's own start-up steps (gate readiness) and shared dependencies (reported only).
//
// A shared dependency (Redis, the provider) going down does not make a started replica unready: pulling
// every replica out of the load balancer at once would turn a partial outage into a total one.
//
// The body is answered to anyone: it names states only. Why a dependency is down (an internal URL, an
// address and an error code) is for the operator: its owner logs it, and metrics carry the state.

export type DependencyState = 'up' | 'down' | 'unknown';

export class Readiness {
  private readonly pending = new Set<string>();
  private readonly dependencies = new Map<string, { state: DependencyState }>();
  private draining = false;

  /** Registers a start-up step that must finish before the replica is ready. */
  require(step: string): () => void {
    this.pending.add(step);
    return () => this.pending.delete(step);
  }

  /** `_detail` is never shown here: the caller logs it (discovery, the token store). */
  setDependency(name: string, state: DependencyState, _detail?: string): void {
    if (this.dependencies.get(name)?.state !== state) this.dependencies.set(name, { state });
  }

  dependency(name: string): DependencyState {
    return this.dependencies.get(name)?.state ?? 'unknown';
  }

  /** On shutdown: answer 503 so load balancers stop sending before connections close. */
  drain(): void {
    this.draining = true;
  }

  get ready(): boolean {
    return !this.draining && this.pending.size === 0;
  }

  report() {
    return {
      status: this.draining ? 'draining' : this.pending.size === 0 ? 'ready' : 'starting',
      waitingFor: [...this.pending],
      dependencies: Object.fromEntries(this.dependencies),
    };
  }
}
