import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { registerDemo } from './demo.js';
import { registerInspect } from './inspect.js';
import { registerBench } from './bench.js';
import { registerOps } from './ops.js';
import { registerOptimize } from './optimize.js';
import { registerProfile } from './profile.js';
import { registerRun } from './run.js';
import { USAGE_EXIT, UsageError, reportFailure } from './output.js';

/**
 * `edgerun <command>`: one file per command; each only calls the public API. A command file imports the
 * runtime inside its action (`await import('../node.js')`), so `edgerun --version` and `--help` load
 * commander and nothing else.
 */
export async function main(argv: string[]): Promise<number> {
  const json = jsonRequested(argv);
  const program = new Command('edgerun')
    .description('Run ONNX models anywhere JavaScript runs.')
    .version(packageVersion())
    .exitOverride()
    // Under --json a usage error is reported once, as JSON on stdout, by reportFailure below.
    .configureOutput({ writeErr: (text) => process.stderr.write(text), outputError: (text, write) => json || write(text) })
    .showHelpAfterError(!json);
  registerInspect(program);
  registerRun(program);
  registerOps(program);
  registerDemo(program);
  registerProfile(program);
  registerBench(program);
  registerOptimize(program);
  for (const command of program.commands) command.exitOverride();
  try {
    await program.parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
      if (!json) return USAGE_EXIT;
      return reportFailure(new UsageError(error.message.replace(/^error: /, '')), true);
    }
    return reportFailure(error, json);
  }
}

/** --json anywhere before a `--` that ends the options. */
function jsonRequested(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}
