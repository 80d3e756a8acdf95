// Logging in through the demo page, as a person would: shared by the e2e tests under npm start.
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

/** Logs `email` in at the local Zoho from the demo page at `app`, and waits for the page to name `userName`. */
export async function logInThroughWorker(target: Page, app: string, email: string, userName: string): Promise<void> {
  await target.goto(app);
  await target.click('#login');
  await target.selectOption('select[name=email]', email);
  await target.click('#accept');
  await expect.poll(() => target.locator('#user').textContent()).toBe(userName);
}
