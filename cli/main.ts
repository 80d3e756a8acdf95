#!/usr/bin/env node
// edge-token-store <command>   (Node 22.5+)
//   import <file> --to <target> [options]   Zoho SDK token files into a store (import-command.ts)
//   login --device ...                      a user's first token where there is no browser (login-command.ts)
//   local-zoho [--port N]                   the local Zoho on loopback, for wrangler dev and any language's tests
if (process.argv[2] === 'local-zoho') await import('./local-zoho-command.ts');
else if (process.argv[2] === 'login') await import('./login-command.ts');
else await import('./import-command.ts');
