/**
 * Skips that CI must not take. `TSGRAD_REQUIRE=webgpu,browser,fashion-mnist,permissions,redis` (or `all`),
 * as .ci/run sets it, turns the skip of a test needing one of those into a failure that says why, so a
 * CI machine that lost lavapipe, Chromium, the dataset or its non-root user goes red instead of
 * silently green. Without the variable (a developer's machine) the test skips with its reason.
 */
export type RequiredFeature = 'webgpu' | 'browser' | 'fashion-mnist' | 'permissions' | 'redis';

/** Throws when `feature` is required here; passes the reason through otherwise (false: no skip). */
export function skipUnlessRequired(feature: RequiredFeature, reason: string | false): string | false {
  if (!reason) return false;
  const required = (process.env['TSGRAD_REQUIRE'] ?? '').split(',').map((s) => s.trim());
  if (required.includes(feature) || required.includes('all'))
    throw new Error(
      `TSGRAD_REQUIRE=${process.env['TSGRAD_REQUIRE']} needs ${feature}, but its test would skip: ${reason}`,
    );
  return reason;
}
