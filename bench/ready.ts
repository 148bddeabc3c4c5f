import type { ChildProcess } from 'node:child_process';

/** A started benchmark server: its process, port and token. */
export interface RunningServer {
  readonly child: ChildProcess;
  readonly port: number;
  readonly token: string;
}

/** Waits for bench/server.ts's `READY <port> <token>` line on the child's stdout. */
export async function serverReady(child: ChildProcess, name: string): Promise<RunningServer> {
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk;
      const ready = /READY .*\n/.exec(out);
      if (ready) resolve(ready[0]);
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${name}: server exited with ${code}`)));
  });
  const [, port, token] = line.trim().split(' ');
  return { child, port: Number(port), token };
}
