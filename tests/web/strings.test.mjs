// The pages' dictionaries (web/js/strings/*.js, registered with i18n.js's registerStrings): kk, ru
// and en say the same things (same keys, same placeholders, nothing empty), no key is defined by
// two dictionaries, and every key a page uses (its HTML's data-i18n attributes, the string
// literals and `prefix.${…}` templates of every module it imports) is registered on that page.
// A key missing there would be shown to the reader as the key itself.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';

const WEB = new URL('../../web/', import.meta.url);
const LANGUAGES = ['kk', 'ru', 'en'];

const dictionaries = new Map(); // 'strings/x.js' -> {kk, ru, en}
for (const file of readdirSync(new URL('js/strings/', WEB)).sort()) {
  dictionaries.set(`strings/${file}`, (await import(new URL(`js/strings/${file}`, WEB))).default);
}
const owner = new Map(); // key -> dictionary file
for (const [file, dictionary] of dictionaries) {
  for (const key of Object.keys(dictionary.en ?? {})) owner.set(key, file);
}

const placeholders = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).sort();

test('every dictionary has the same keys and placeholders in kk, ru and en, none empty', () => {
  for (const [file, dictionary] of dictionaries) {
    const keys = Object.keys(dictionary.en ?? {}).sort();
    assert.ok(keys.length > 0, `${file} has strings`);
    for (const language of LANGUAGES) {
      assert.deepEqual(Object.keys(dictionary[language] ?? {}).sort(), keys, `${file} ${language}`);
      for (const key of keys) {
        const text = dictionary[language][key];
        assert.equal(typeof text, 'string', `${file} ${language} ${key}`);
        assert.ok(text.trim() !== '', `${file} ${language} ${key} is empty`);
        assert.deepEqual(placeholders(text), placeholders(dictionary.en[key]), `${file} ${language} ${key}`);
      }
    }
  }
});

test('no key is defined by two dictionaries', () => {
  const seen = new Map();
  for (const [file, dictionary] of dictionaries) {
    for (const language of LANGUAGES) {
      for (const key of Object.keys(dictionary[language] ?? {})) {
        const first = seen.get(`${language} ${key}`);
        assert.ok(first === undefined || first === file, `${key} in ${first} and ${file}`);
        seen.set(`${language} ${key}`, file);
      }
    }
  }
});

const moduleSource = new Map();
const source = (module) => {
  if (!moduleSource.has(module)) moduleSource.set(module, readFileSync(new URL(`js/${module}`, WEB), 'utf8'));
  return moduleSource.get(module);
};
// The modules a module imports statically, by their path under web/js/.
const imports = (module) =>
  [...source(module).matchAll(/^import\s[^;]*?from\s+'\.\/([^']+)'|^import\s+'\.\/([^']+)'/gms)].map(
    (match) => match[1] ?? match[2],
  );
// The dictionaries a module registers: `registerStrings(name)` where `name` is imported from
// './strings/….js'.
const registers = (module) => {
  const text = source(module);
  const named = new Map(
    [...text.matchAll(/^import\s+(\w+)\s+from\s+'\.\/(strings\/[^']+)'/gm)].map((match) => [match[1], match[2]]),
  );
  return [...text.matchAll(/registerStrings\((\w+)\)/g)].map((match) => named.get(match[1]) ?? 'strings/shared.js');
};

// Modules a page imports for something that names no key: the meeting page's link to the
// moderation log (moderation-log-link.js) takes only `moderationLogUrl` from the log's model.
const KEYLESS_ON = new Set(['meeting.html moderation-log-model.js']);

test('every key a page uses is registered on it', () => {
  const pages = readdirSync(WEB).filter((file) => file.endsWith('.html'));
  assert.ok(pages.length >= 10, 'the pages are found');
  const missing = [];
  for (const page of pages) {
    const html = readFileSync(new URL(page, WEB), 'utf8');
    const entry = html.match(/<script type="module" src="\/js\/([^"]+)"/)?.[1];
    assert.ok(entry, `${page} has a module`);
    const modules = new Set();
    const visit = (module) => {
      if (modules.has(module) || module.startsWith('strings/')) return;
      modules.add(module);
      imports(module).forEach(visit);
    };
    visit(entry);
    const registered = new Set([...modules].flatMap(registers));
    const available = new Set([...registered].flatMap((file) => Object.keys(dictionaries.get(file)?.en ?? {})));

    const used = [...html.matchAll(/data-i18n[\w-]*="([^"]+)"/g)].map((match) => [match[1], page]);
    const prefixes = [];
    for (const module of modules) {
      if (KEYLESS_ON.has(`${page} ${module}`)) continue;
      const text = source(module);
      for (const match of text.matchAll(/['"`]([a-zA-Z][\w-]*(?:\.[\w-]+)+)['"`]/g)) {
        if (owner.has(match[1])) used.push([match[1], module]);
      }
      for (const match of text.matchAll(/`([a-zA-Z][\w-]*(?:\.[\w-]+)*\.)\$\{/g)) prefixes.push([match[1], module]);
    }
    for (const [key, where] of used) {
      if (!owner.has(key)) missing.push(`${where} on ${page} uses ${key}, which no dictionary defines`);
      else if (!available.has(key)) missing.push(`${where} on ${page} uses ${key}, but ${owner.get(key)} is not registered`);
    }
    for (const [prefix, where] of prefixes) {
      const defined = [...owner.keys()].some((key) => key.startsWith(prefix));
      if (!defined) continue; // not a key (a URL, a CSS class)
      if (![...available].some((key) => key.startsWith(prefix))) {
        missing.push(`${where} on ${page} builds keys ${prefix}…, but none is registered there`);
      }
    }
  }
  assert.deepEqual([...new Set(missing)], []);
});
