/** `tsgrad playground`: serves the browser playground on a local port. */
import { type OptionSpec, UsageError, formatOptions, parseOptions } from './args.js';
import { startPlayground } from './playground-server.js';

const PLAYGROUND_OPTIONS: Record<string, OptionSpec> = {
  port: { type: 'integer', help: 'port to listen on (0: any free port)', default: 8080, min: 0 },
  host: {
    type: 'string',
    help: 'address to bind (other machines can reach it only if you say so)',
    default: '127.0.0.1',
  },
  help: { type: 'flag', help: 'show this help' },
};

/** Runs until interrupted (Ctrl-C). */
export async function commandPlayground(argv: string[]): Promise<number> {
  const { options, positional } = parseOptions(argv, PLAYGROUND_OPTIONS, 'playground');
  if (options['help']) {
    console.log(`usage: tsgrad playground [--port N] [--host 127.0.0.1]\n\n${formatOptions(PLAYGROUND_OPTIONS)}`);
    return 0;
  }
  if (positional.length) throw new UsageError(`playground: unexpected argument '${positional[0]}'`);
  const port = options['port'] as number;
  if (port > 65535) throw new UsageError(`playground: --port must be at most 65535; got ${port}`);
  let server;
  try {
    server = await startPlayground({ host: options['host'] as string, port });
  } catch (e) {
    throw new UsageError(`playground: cannot listen on ${String(options['host'])}:${port} (${(e as Error).message})`);
  }
  console.log(`tsgrad playground: ${server.url}  (Ctrl-C to stop)`);
  await new Promise<void>((done) => {
    const stop = (): void => {
      void server.close().then(done);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
