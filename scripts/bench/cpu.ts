// CPU time of running processes, read from /proc (Linux): what a workerd spends per proxied call,
// whatever else the machine is doing, unlike wall-clock time.
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

function stat(pid: number): { parent: number; command: string; cpuMs: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command sits in parentheses and may hold spaces; the fields follow it.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const command = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
    return { parent: Number(fields[1]), command, cpuMs: ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND };
  } catch {
    return null; // gone meanwhile
  }
}

/** The pids under `root` (itself included) whose command is `command`. */
export function processesUnder(root: number, command: string): number[] {
  const all = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
  const parents = new Map(all.map((pid) => [pid, stat(pid)?.parent ?? 0]));
  const under = (pid: number): boolean => pid === root || (pid > 1 && under(parents.get(pid) ?? 0));
  return all.filter((pid) => under(pid) && stat(pid)?.command === command);
}

/** Their CPU milliseconds so far (user and system), summed. */
export const cpuMsOf = (pids: number[]) => pids.reduce((sum, pid) => sum + (stat(pid)?.cpuMs ?? 0), 0);
