// Accessibility checks of the browser tests: axe-core (the npm package, pinned in package.json)
// run inside the page under test. Not a test file itself.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFile(require.resolve('axe-core/axe.min.js'), 'utf8');

/** The impacts that fail a test: what keeps someone from using the page at all. */
const FAILING = new Set(['serious', 'critical']);

/**
 * Runs axe-core on `page` as it is now (WCAG 2.1 A and AA rules, and axe's best practices) and
 * fails with every serious or critical violation, naming the rule and the elements. `label`
 * says which page and state was checked. Moderate and minor findings are returned, not failed.
 */
export async function assertAccessible(page, label) {
  // The pages' Content-Security-Policy allows no inline script, so axe goes in through the
  // DevTools protocol, which the policy does not govern.
  const loaded = await page.evaluate(() => typeof window.axe === 'object').catch(() => false);
  if (!loaded) {
    const session = await page.context().newCDPSession(page);
    await session.send('Runtime.evaluate', { expression: await AXE_SOURCE });
    await session.detach();
  }
  const results = await page.evaluate(async () => {
    const outcome = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
      resultTypes: ['violations'],
    });
    return outcome.violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact,
      help: violation.help,
      targets: violation.nodes.slice(0, 5).map((node) => node.target.join(' ')),
    }));
  });
  const failing = results.filter((violation) => FAILING.has(violation.impact));
  assert.deepEqual(
    failing.map((violation) => `${violation.impact} ${violation.id}: ${violation.help} at ${violation.targets.join(', ')}`),
    [],
    `${label}: axe-core found serious accessibility violations`,
  );
  return results;
}
