/**
 * Hosts for tests: one Linux network namespace per host, each with an `eth0` (one end of a veth pair) whose
 * other end is a port of a bridge in a "switch" namespace of its own. Addresses are 10.201.7.x/24 and
 * exist only inside these namespaces: nothing is added to the namespace the tests run in. Needs root (or
 * CAP_NET_ADMIN and CAP_SYS_ADMIN) and `ip` (iproute2).
 *
 * Namespace names are `lvh<pid>-<host>`, <pid> being the test process's: a run that was killed before it
 * could clean up leaves namespaces whose pid is gone, and the next createNetwork() removes them.
 */
import { execFileSync } from 'node:child_process';

export const SUBNET = '10.201.7';
const PREFIX = 'lvh';

export interface Host {
  name: string;
  /** the namespace: run a process on this host with `ip netns exec <ns> ...` */
  ns: string;
  address: string;
}

export interface Network {
  hosts: Record<string, Host>;
  /** pulls the host's cable: the switch's end of its link goes down (its eth0 loses carrier) */
  cut(host: string): void;
  /** plugs it in again */
  restore(host: string): void;
  /** SIGKILLs whatever still runs in the namespaces and deletes them; never throws */
  destroy(): void;
}

const ip = (...args: string[]): string =>
  execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

function listNamespaces(): string[] {
  return ip('netns', 'list')
    .split('\n')
    .map((line) => line.split(' ')[0])
    .filter(Boolean);
}

/** Kills the processes left in a namespace (ones a test started there), then deletes it. */
function deleteNamespace(ns: string): void {
  try {
    for (const pid of ip('netns', 'pids', ns).split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    ip('netns', 'del', ns);
  } catch {
    // already gone
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes namespaces that an earlier, killed test process of this helper left behind. */
function removeStale(): void {
  for (const ns of listNamespaces()) {
    const match = new RegExp(`^${PREFIX}(\\d+)-`).exec(ns);
    if (match && Number(match[1]) !== process.pid && !alive(Number(match[1]))) deleteNamespace(ns);
  }
}

/**
 * One host per name (at most 12 characters: the switch's port is named after it), addresses
 * `${SUBNET}.<first + index>`. On any failure what was made is removed again before it throws.
 */
export function createNetwork(names: string[], first = 1): Network {
  removeStale();
  const tag = `${PREFIX}${process.pid}`;
  const sw = `${tag}-sw`;
  const made: string[] = [];
  const hosts: Record<string, Host> = {};
  const destroy = (): void => {
    for (const ns of made.reverse()) deleteNamespace(ns);
    made.length = 0;
  };
  try {
    ip('netns', 'add', sw);
    made.push(sw);
    ip('-n', sw, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', sw, 'link', 'set', 'br0', 'up');
    names.forEach((name, i) => {
      if (!/^[a-z0-9]{1,12}$/.test(name)) throw new Error(`bad host name '${name}'`);
      const ns = `${tag}-${name}`;
      const address = `${SUBNET}.${first + i}`;
      ip('netns', 'add', ns);
      made.push(ns);
      ip('link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', name, 'netns', sw);
      ip('-n', sw, 'link', 'set', name, 'master', 'br0');
      ip('-n', sw, 'link', 'set', name, 'up');
      ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
      hosts[name] = { name, ns, address };
    });
  } catch (error) {
    destroy();
    throw error;
  }
  const port = (host: string): string => {
    if (!hosts[host]) throw new Error(`no host '${host}'`);
    return host;
  };
  return {
    hosts,
    cut: (host) => void ip('-n', sw, 'link', 'set', port(host), 'down'),
    restore: (host) => void ip('-n', sw, 'link', 'set', port(host), 'up'),
    destroy,
  };
}
