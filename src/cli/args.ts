import { TsgradError } from '../core/errors.js';

/** A command-line mistake: printed as `error: ...` with exit code 2, never a stack trace. */
export class UsageError extends TsgradError {}

export interface OptionSpec {
  /** 'flag' takes no value. */
  type: 'string' | 'number' | 'integer' | 'flag';
  help: string;
  default?: string | number | boolean;
  choices?: readonly string[];
  min?: number;
}

export type ParsedOptions = Record<string, string | number | boolean | undefined>;

/** Parses `--name value` / `--name=value` / `--flag` options and positional arguments against a spec. */
export function parseOptions(
  argv: readonly string[],
  spec: Record<string, OptionSpec>,
  command: string,
): { options: ParsedOptions; positional: string[] } {
  const options: ParsedOptions = {};
  const positional: string[] = [];
  for (const [k, s] of Object.entries(spec)) if (s.default !== undefined) options[k] = s.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const s = spec[name];
    if (!s) {
      throw new UsageError(`${command}: unknown option --${name} (run 'tsgrad ${command} --help' for the options)`);
    }
    if (s.type === 'flag') {
      if (eq >= 0) throw new UsageError(`${command}: --${name} takes no value`);
      options[name] = true;
      continue;
    }
    const raw = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (raw === undefined || (eq < 0 && raw.startsWith('--')))
      throw new UsageError(`${command}: --${name} needs a value`);
    if (s.type === 'string') {
      if (s.choices && !s.choices.includes(raw)) {
        throw new UsageError(`${command}: --${name} must be one of ${s.choices.join(', ')}; got '${raw}'`);
      }
      options[name] = raw;
    } else {
      const v = Number(raw);
      if (!Number.isFinite(v) || (s.type === 'integer' && !Number.isInteger(v))) {
        throw new UsageError(
          `${command}: --${name} must be ${s.type === 'integer' ? 'an integer' : 'a number'}; got '${raw}'`,
        );
      }
      if (s.min !== undefined && v < s.min) throw new UsageError(`${command}: --${name} must be >= ${s.min}; got ${v}`);
      options[name] = v;
    }
  }
  return { options, positional };
}

/** The options table for --help. */
export function formatOptions(spec: Record<string, OptionSpec>): string {
  const rows = Object.entries(spec).map(([k, s]) => {
    const left = `  --${k}${s.type === 'flag' ? '' : ` ${s.choices ? s.choices.join('|') : s.type === 'string' ? 'VALUE' : 'N'}`}`;
    const dflt = s.default !== undefined && s.type !== 'flag' ? ` (default ${s.default})` : '';
    return [left, `${s.help}${dflt}`] as const;
  });
  const w = Math.max(...rows.map((r) => r[0].length)) + 2;
  return rows.map(([l, r]) => `${l.padEnd(w)}${r}`).join('\n');
}
