import { Command, CommanderError } from 'commander';
import { registerDemo } from './demo.js';
import { registerInspect } from './inspect.js';
import { registerOps } from './ops.js';
import { registerRun } from './run.js';
import { UsageError, reportFailure } from './output.js';

/** `edgerun <command>`: one file per command; each only calls the public API. */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('edgerun')
    .description('Run ONNX models anywhere JavaScript runs.')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) })
    .showHelpAfterError();
  registerInspect(program);
  registerRun(program);
  registerOps(program);
  registerDemo(program);
  for (const command of program.commands) command.exitOverride();
  try {
    await program.parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
      return 2;
    }
    return reportFailure(error);
  }
}

export { UsageError };
