import type { Command } from 'commander';
import { printJson } from './output.js';

export function registerOps(program: Command): void {
  program
    .command('ops')
    .description('list every op edgerun has a kernel for, by domain, with the opset versions it implements')
    .option('--json', 'print the list as JSON')
    .action(async (options: { json?: boolean }) => {
      const { supportedOps } = await import('../node.js');
      const ops = supportedOps();
      if (options.json) {
        printJson(ops);
        return;
      }
      const domains = [...new Set(ops.map((op) => op.domain))];
      for (const domain of domains) {
        const inDomain = ops.filter((op) => op.domain === domain);
        process.stdout.write(`${domain} (${inDomain.length} ops)\n`);
        for (const op of inDomain) process.stdout.write(`  ${op.name.padEnd(34)} ${op.versions.join(', ')}\n`);
      }
    });
}
