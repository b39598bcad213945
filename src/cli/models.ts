/**
 * `tsgrad models`: the model zoo by name, with parameter counts at the default
 * configuration, the input each model was designed for and what it accepts.
 */
import { MODELS } from '../models/index.js';
import { type OptionSpec, UsageError, formatOptions, parseOptions, wrapText } from './args.js';

/**
 * Parameters of each registered model at its default configuration (10 classes for LeNet-5,
 * 1000 for the ImageNet models, 3 input channels). Building the large models just to count
 * takes seconds and gigabytes, so the counts are listed; test/cli/models.test.ts checks them
 * against the zoo's own models (via the torchvision reference counts the zoo test asserts).
 */
export const DEFAULT_PARAMETER_COUNTS: Readonly<Record<string, number>> = {
  lenet5: 61_706,
  'lenet5-classic': 60_000,
  alexnet: 61_100_840,
  'alexnet-paper': 60_965_224,
  vgg11: 132_863_336,
  vgg11_bn: 132_868_840,
  vgg13: 133_047_848,
  vgg13_bn: 133_053_736,
  vgg16: 138_357_544,
  vgg16_bn: 138_365_992,
  vgg19: 143_667_240,
  vgg19_bn: 143_678_248,
  googlenet: 6_624_904,
  resnet18: 11_689_512,
  resnet34: 21_797_672,
  resnet50: 25_557_032,
  resnet101: 44_549_160,
  resnet152: 60_192_808,
  resnext50_32x4d: 25_028_904,
  wide_resnet50_2: 68_883_240,
  densenet121: 7_978_856,
  densenet161: 28_681_000,
  densenet169: 14_149_480,
  densenet201: 20_013_928,
};

const MODELS_OPTIONS: Record<string, OptionSpec> = {
  json: { type: 'flag', help: 'print one JSON object: name -> { parameters, classes, input, description }' },
  help: { type: 'flag', help: 'show this help' },
};

/** The listing `tsgrad models` prints, at most `width` columns wide. */
export function modelsTable(width = 100): string {
  const rows = Object.entries(MODELS).map(([name, spec]) => {
    const count = DEFAULT_PARAMETER_COUNTS[name];
    const input = `${spec.defaultInput.channels}x${spec.defaultInput.size}`;
    return [
      name,
      count === undefined ? '?' : count.toLocaleString('en-US'),
      String(spec.defaultClasses),
      input,
      spec.description,
    ];
  });
  const head = ['model', 'parameters', 'classes', 'input', 'description'];
  const widths = [0, 1, 2, 3].map((c) => Math.max(head[c]!.length, ...rows.map((r) => r[c]!.length)));
  const left = widths.reduce((a, b) => a + b + 2, 0);
  const line = (r: string[]): string => {
    const cells = r.slice(0, 4).map((v, c) => (c === 1 || c === 2 ? v.padStart(widths[c]!) : v.padEnd(widths[c]!)));
    const [first, ...rest] = wrapText(r[4]!, width - left);
    return [`${cells.join('  ')}  ${first ?? ''}`.trimEnd(), ...rest.map((l) => `${' '.repeat(left)}${l}`)].join('\n');
  };
  return [
    line(head),
    ...rows.map(line),
    '',
    'Parameters at the default classes; other class counts change the last layer. The zoo models also',
    'take smaller images (under 64 pixels: a small-input stem), e.g.',
    '  tsgrad train --model resnet18 --dataset cifar10',
  ].join('\n');
}

/** `tsgrad models [--json]` */
export async function commandModels(argv: string[]): Promise<number> {
  const { options, positional } = parseOptions(argv, MODELS_OPTIONS, 'models');
  if (options['help']) {
    console.log(
      `usage: tsgrad models [--json]\n\nLists the model zoo with parameter counts.\n\n${formatOptions(MODELS_OPTIONS)}`,
    );
    return 0;
  }
  if (positional.length) throw new UsageError(`models: unexpected argument '${positional[0]}'`);
  if (options['json']) {
    const out = Object.fromEntries(
      Object.entries(MODELS).map(([name, spec]) => [
        name,
        {
          parameters: DEFAULT_PARAMETER_COUNTS[name] ?? null,
          classes: spec.defaultClasses,
          input: spec.defaultInput,
          accepts: spec.sizesText,
          description: spec.description,
        },
      ]),
    );
    console.log(JSON.stringify(out));
  } else console.log(modelsTable());
  return 0;
}
