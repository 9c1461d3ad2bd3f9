import { createRequire } from 'node:module';
import type { Argv } from 'yargs';
import { TapError } from '../errors.js';
import { packageManifest } from '../paths.js';

/** yargs through its CommonJS build, as the Singer face loads it (src/cli.ts: faster start-up). */
const yargs = createRequire(import.meta.url)('yargs/yargs') as (args: readonly string[]) => Argv;

/** What Airbyte's connector command line asks for; no file has been read yet. */
export type SourceArgs =
  | { readonly command: 'spec' }
  | { readonly command: 'check' | 'discover'; readonly config: string }
  | { readonly command: 'read'; readonly config: string; readonly catalog: string; readonly state: string | undefined }
  /** `--help` or `--version`: the text to print (on stderr: stdout carries Airbyte messages only). */
  | { readonly command: 'help'; readonly text: string };

const configOption = { type: 'string', demandOption: true, requiresArg: true, description: 'Connector config JSON file' } as const;

/**
 * Parses Airbyte's connector interface exactly: `spec`; `check --config FILE`;
 * `discover --config FILE`; `read --config FILE --catalog FILE [--state FILE]`. Anything else is
 * a usage error.
 */
export async function parseSourceCli(argv: readonly string[]): Promise<SourceArgs> {
  let text = '';
  const parsed = await yargs([...argv])
    .scriptName('source-wemasy')
    .usage('$0 <command>\n\nAirbyte source for Wemasy Analytics: sessions, visits and conversions.')
    .command('spec', 'Print the connector specification (SPEC)')
    .command('check', 'Test the config and the connection (CONNECTION_STATUS)', (y) => y.option('config', configOption))
    .command('discover', 'Print the streams (CATALOG)', (y) => y.option('config', configOption))
    .command('read', 'Sync the configured streams (RECORD, STATE, TRACE)', (y) =>
      y
        .option('config', configOption)
        .option('catalog', { type: 'string', demandOption: true, requiresArg: true, description: 'Configured catalog JSON file' })
        .option('state', { type: 'string', requiresArg: true, description: 'State JSON file from an earlier run' }),
    )
    .demandCommand(1, 1, 'a command is required: spec, check, discover or read')
    .version(packageManifest().version)
    .help()
    .strict()
    .exitProcess(false)
    .wrap(100)
    .fail((message, error) => {
      throw error instanceof TapError ? error : new TapError('usage', message ?? error?.message ?? 'invalid command line');
    })
    .parseAsync([...argv], {}, (_error, _argv, output) => {
      text = output;
    });
  if (text !== '') return { command: 'help', text };
  const [command] = parsed._;
  const config = parsed.config as string;
  switch (command) {
    case 'spec':
      return { command };
    case 'check':
    case 'discover':
      return { command, config };
    case 'read':
      return { command, config, catalog: parsed.catalog as string, state: parsed.state as string | undefined };
    default:
      throw new TapError('usage', `unknown command ${JSON.stringify(command)}: use spec, check, discover or read`);
  }
}
