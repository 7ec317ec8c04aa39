// External programs the run needs (wrk, nginx, redis-server): found on PATH, installed with apt as root, or skipped.
import { spawnSync } from 'node:child_process';
import { which } from './procs.js';

export interface Tools {
  wrk?: string;
  nginx?: string;
  redisServer?: string;
}

const PACKAGES: Record<keyof Tools, [binary: string, pkg: string]> = {
  wrk: ['wrk', 'wrk'],
  nginx: ['nginx', 'nginx'],
  redisServer: ['redis-server', 'redis-server'],
};

function aptInstall(pkgs: string[]): void {
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    }).status === 0;
  if (install()) return;
  spawnSync('apt-get', ['update'], { stdio: ['ignore', 'inherit', 'inherit'] });
  install();
}

/** Finds each tool; as root (unless BENCH_APT=0) apt-installs the missing ones; says how to get the rest. */
export function findTools(wanted: (keyof Tools)[], say: (line: string) => void): Tools {
  const tools: Tools = {};
  const locate = () => {
    for (const k of wanted) tools[k] = which(PACKAGES[k][0]);
  };
  locate();
  const missing = wanted.filter((k) => !tools[k]);
  if (missing.length > 0 && process.getuid?.() === 0 && process.env.BENCH_APT !== '0') {
    const pkgs = missing.map((k) => PACKAGES[k][1]);
    say(`installing ${pkgs.join(' ')} with apt-get (running as root; BENCH_APT=0 to skip)`);
    aptInstall(pkgs);
    locate();
  }
  for (const k of wanted) {
    if (!tools[k]) {
      const [bin, pkg] = PACKAGES[k];
      say(`${bin} not found: install it with \`sudo apt-get install -y ${pkg}\`; skipping what needs it`);
    }
  }
  return tools;
}
