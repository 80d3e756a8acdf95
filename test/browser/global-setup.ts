// Runs in Node before the browser tests: a local Zoho over HTTP, its URL provided to tests.
import type { TestProject } from 'vitest/node';
import { serveLocalZoho } from 'edge-token-store/testing/node';

declare module 'vitest' {
  export interface ProvidedContext {
    zohoUrl: string;
    zohoAdminToken: string;
  }
}

export default async function setup(project: TestProject) {
  const server = await serveLocalZoho({
    // These pages stand in for an extension's pages (the refresh and store tests), which reach
    // Zoho's token endpoint through host permissions, not CORS.
    asExtensionHostPermission: true,
  });
  project.provide('zohoUrl', server.url);
  project.provide('zohoAdminToken', server.adminToken);
  return () => server.close();
}
