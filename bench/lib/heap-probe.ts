// A child's live memory after a full GC, read over the inspector protocol (node --inspect=127.0.0.1:0).
//
// RSS alone says little about what sessions hold: V8 keeps garbage until its next major GC and does
// not always give pages back. The probe asks the child itself to collect (HeapProfiler.collectGarbage)
// and report process.memoryUsage(), so "retained per session" is the difference of two such readings.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { type MessageEvent, WebSocket } from 'undici';

export const INSPECT_ARGS = ['--inspect=127.0.0.1:0'];

export interface LiveMemory {
  heapUsed: number;
  external: number;
  rss: number;
}

/** The child's inspector URL, from the "Debugger listening on ws://..." line in its log. */
async function inspectorUrl(logFile: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const m = /Debugger listening on (ws:\/\/\S+)/.exec(readFileSync(logFile, 'utf8'));
    if (m) return m[1] as string;
    await sleep(100);
  }
  throw new Error(`no inspector URL in ${logFile}`);
}

export class HeapProbe {
  private constructor(
    private readonly ws: WebSocket,
    private next = 1,
  ) {}

  static async open(logFile: string): Promise<HeapProbe> {
    const ws = new WebSocket(await inspectorUrl(logFile));
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve(), { once: true });
      ws.addEventListener('error', () => reject(new Error('inspector: cannot connect')), { once: true });
    });
    return new HeapProbe(ws);
  }

  call(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      const onMessage = (ev: MessageEvent) => {
        const msg = JSON.parse(String(ev.data)) as {
          id?: number;
          result?: Record<string, unknown>;
          error?: unknown;
        };
        if (msg.id !== id) return;
        this.ws.removeEventListener('message', onMessage);
        if (msg.error) reject(new Error(`inspector ${method}: ${JSON.stringify(msg.error)}`));
        else resolve(msg.result ?? {});
      };
      this.ws.addEventListener('message', onMessage);
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Two full GCs, then the child's process.memoryUsage(). */
  async afterGc(): Promise<LiveMemory> {
    await this.call('HeapProfiler.collectGarbage');
    await this.call('HeapProfiler.collectGarbage');
    const r = await this.call('Runtime.evaluate', {
      expression: 'JSON.stringify(process.memoryUsage())',
      returnByValue: true,
    });
    const m = JSON.parse((r.result as { value: string }).value) as LiveMemory;
    return { heapUsed: m.heapUsed, external: m.external, rss: m.rss };
  }

  close(): void {
    this.ws.close();
  }
}
