// How the tests find their Chromium (scripts/chromium.ts): CHROMIUM_PATH first (and only if it
// exists), then the system's, then Playwright's cache, newest build first.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findChromium } from '../../scripts/chromium.ts';

const saved = { CHROMIUM_PATH: process.env.CHROMIUM_PATH, PLAYWRIGHT_BROWSERS_PATH: process.env.PLAYWRIGHT_BROWSERS_PATH };
afterEach(() => {
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

const fakeBrowser = (path: string) => {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, '');
  return path;
};

describe('finding Chromium for the tests', () => {
  it('CHROMIUM_PATH wins, and one that names nothing is an error rather than a silent fallback', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ets-chromium-'));
    process.env.CHROMIUM_PATH = fakeBrowser(join(dir, 'my-chrome'));
    expect(findChromium()).toBe(process.env.CHROMIUM_PATH);
    process.env.CHROMIUM_PATH = join(dir, 'missing');
    expect(() => findChromium()).toThrow(/CHROMIUM_PATH names .*missing/);
  });

  it("then the system's browsers in order, then Playwright's cache, newest build first; null when there is none", () => {
    delete process.env.CHROMIUM_PATH;
    const dir = mkdtempSync(join(tmpdir(), 'ets-chromium-'));
    process.env.PLAYWRIGHT_BROWSERS_PATH = join(dir, 'cache');
    expect(findChromium([join(dir, 'none')])).toBeNull();
    fakeBrowser(join(dir, 'cache/chromium-1100/chrome-linux/chrome'));
    const newest = fakeBrowser(join(dir, 'cache/chromium-1200/chrome-linux64/chrome'));
    expect(findChromium([join(dir, 'none')])).toBe(newest);
    const system = fakeBrowser(join(dir, 'usr/bin/chromium'));
    expect(findChromium([join(dir, 'none'), system])).toBe(system);
  });
});
