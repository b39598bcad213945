import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareOutputs, instrument, missingLines, printedMatches } from '../helpers/printed.js';

test('documented output matches what util.inspect prints, white space aside', () => {
  assert.ok(printedMatches('[ 2, 10 ] 0', '[ 2, 10 ] 0'));
  assert.ok(printedMatches("[{ name: 'output', shape: [null, 3] }]", "[ { name: 'output', shape: [ null, 3 ] } ]"));
  assert.ok(!printedMatches('[ 2, 10 ] 0', '[ 2, 10 ] 1'), 'a wrong number');
  assert.ok(!printedMatches('[ 2, 10 ]', '[ 2, 10, 1 ]'), 'a missing element');
  assert.ok(!printedMatches('[ 2, 10, 1 ]', '[ 2, 10 ]'), 'an extra element');
  assert.ok(!printedMatches("'bn1.weight'", "'bn1.bias'"), 'a wrong word');
  assert.ok(!printedMatches('[ 1, 2 ]', '[ 12 ]'), 'numbers are not run together');
});

test('integers must be exact; a decimal agrees to the digits written; ... stands for anything', () => {
  assert.ok(!printedMatches('60965224', '60965224.4'));
  assert.ok(printedMatches('0.693', '0.6931471805599453'));
  assert.ok(!printedMatches('0.693', '0.6936'));
  assert.ok(printedMatches('0.0005', '0.0005'));
  assert.ok(printedMatches('0.1', String(0.1 + 2 ** -56)));
  assert.ok(printedMatches('1.5e-3', '0.00153'));
  assert.ok(!printedMatches('1.5e-3', '0.0016'));
  assert.ok(printedMatches('-2.50', '-2.504'));
  assert.ok(!printedMatches('-2.50', '2.50'), 'the sign counts');
  assert.ok(printedMatches('tensor([...], shape=[32])', 'tensor([1, 2, 3], shape=[32])'));
  assert.ok(!printedMatches('tensor([...], shape=[32])', 'tensor([1, 2, 3], shape=[31])'));
  assert.ok(printedMatches('accuracy ...%, loss ...', 'accuracy 88.72%, loss 0.3651'));
});

test('instrumented console.log lines report what they printed, each time they run', () => {
  const { source, expected } = instrument(
    [
      'const a = 1;',
      "console.log(a, 'x'); // 1 x",
      'console.log(a); // no output comment here? it is one',
      'console.log(2);',
    ].join('\n'),
  );
  assert.deepEqual(
    [...expected],
    [
      [2, '1 x'],
      [3, 'no output comment here? it is one'],
    ],
  );
  assert.match(source, /__docsPrinted\(2, a, 'x'\);/);
  assert.match(source, /\nconsole\.log\(2\);$/);
  assert.deepEqual(
    compareOutputs(new Map([[2, '1 x']]), [
      [2, '1 x'],
      [2, '1 x'],
    ]),
    [],
  );
  assert.equal(
    compareOutputs(new Map([[2, '1 x']]), [
      [2, '1 x'],
      [2, '2 x'],
    ]).length,
    1,
    'every run is checked',
  );
  assert.equal(compareOutputs(new Map([[2, '1 x']]), []).length, 1, 'a documented line that never ran fails');
});

test('shown command output must appear among the printed lines, in order', () => {
  const out = 'a 1\nTotal params: 61,706\nb 2\n';
  assert.deepEqual(missingLines(['a 1', 'Total params: 61,706'], out), []);
  assert.deepEqual(missingLines(['Total params: 61,706', 'a 1'], out), ['a 1']);
  assert.deepEqual(missingLines(['Total params: 61,707'], out), ['Total params: 61,707']);
});
