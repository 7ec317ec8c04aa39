// Real nginx and caddy for the forward-auth tests: started from the very files docs/forward-auth/ ships,
// as child processes (foreground, their own prefix, pid and logs in a temp dir), stopped at teardown.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoPath } from '../helpers/repo-root.js';

const DOCS = pathToFileURL(`${repoPath('docs', 'forward-auth')}/`);

export interface FrontServer {
  url: string;
  port: number;
  /** What the server wrote to its error log (for a failing test's message). */
  log(): Promise<string>;
  close(): Promise<void>;
}

/** The docs file with its ${NAME} placeholders filled in (an unknown name is an error: the file changed). */
export async function rendered(file: string, values: Record<string, string>): Promise<string> {
  const text = await readFile(new URL(file, DOCS), 'utf8');
  return text.replace(/\$\{([A-Z_]+)\}/g, (_m, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`${file}: no value for \${${name}}`);
    return value;
  });
}

/** nginx with docs/forward-auth/nginx.conf as its one server block (https with `tls`'s certificate). */
export async function startNginx(
  values: Record<string, string>,
  port: number,
  tls?: { certFile: string; keyFile: string },
): Promise<FrontServer> {
  const dir = await mkdtemp(join(tmpdir(), 'aw-nginx-'));
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) await mkdir(join(dir, sub));
  await writeFile(
    join(dir, 'server.conf'),
    await rendered('nginx.conf', { LISTEN: `127.0.0.1:${port}${tls ? ' ssl' : ''}`, ...values }),
  );
  // Foreground, one process (no user switch, so the temp dir's owner is the only one who writes to it).
  await writeFile(
    join(dir, 'nginx.conf'),
    `daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 256; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${tls ? `  ssl_certificate ${tls.certFile};\n  ssl_certificate_key ${tls.keyFile};\n` : ''}  include ${dir}/server.conf;
}
`,
  );
  const child = spawn(
    '/usr/sbin/nginx',
    ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  return running(child, port, dir, join(dir, 'error.log'));
}

/** caddy with docs/forward-auth/Caddyfile (its {$NAME} placeholders are caddy's own, from the environment). */
export async function startCaddy(env: Record<string, string>, port: number): Promise<FrontServer> {
  const dir = await mkdtemp(join(tmpdir(), 'aw-caddy-'));
  const caddyfile = join(dir, 'Caddyfile');
  // The global options keep caddy off the admin port, out of the user's config dir, and on plain http.
  await writeFile(
    caddyfile,
    `{\n\tadmin off\n\tauto_https off\n\tstorage file_system ${dir}/data\n}\n\n${await readFile(new URL('Caddyfile', DOCS), 'utf8')}`,
  );
  const child = spawn('caddy', ['run', '--config', caddyfile, '--adapter', 'caddyfile'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir, LISTEN: `:${port}`, ...env },
  });
  return running(child, port, dir);
}

async function running(
  child: ChildProcess,
  port: number,
  dir: string,
  logFile?: string,
): Promise<FrontServer> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const log = async () => stderr + (logFile ? await readFile(logFile, 'utf8').catch(() => '') : '');
  const deadline = Date.now() + 30_000; // a hang guard only: we wait for the port to accept
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited ${child.exitCode}: ${await log()}`);
    if (await accepts(port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not listen on ${port}: ${await log()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    log,
    close: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
