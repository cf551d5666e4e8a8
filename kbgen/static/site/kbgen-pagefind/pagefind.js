/* kbgen's Pagefind entry module: the site's main Pagefind bundle plus its stack of delta bundles.
 *
 * Each incremental build indexes only the pages it changed into a bundle of its own,
 * pagefind-delta/<n>/; the stack's manifest (pagefind-delta/kbgen-delta.json) lists the bundles,
 * oldest first, and the entries of the main bundle and older deltas that newer ones replace, and
 * those of pages the site no longer has (kbgen/pagefind.py). Pagefind's UI imports
 * `${bundlePath}pagefind.js`; kbgen.js points it here. This module offers Pagefind's own
 * functions, merges every bundle of the stack before the first search and drops the replaced
 * entries from every result list, so each page is found once, with its newest text.
 */
import * as pagefind from "../../pagefind/pagefind.js";

const STACK = new URL("../../pagefind-delta/", import.meta.url);
let replaced = new Set();
let merged = null;

function withDelta() {
  if (merged === null) {
    merged = fetch(new URL("kbgen-delta.json?ts=" + Date.now(), STACK))
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (manifest) {
        if (!manifest) return undefined;
        replaced = new Set(manifest.superseded || []);
        // in the stack's order; each page's newest entry is the one no manifest entry replaces
        return Promise.all((manifest.bundles || []).map(function (bundle) {
          return pagefind.mergeIndex(new URL(bundle, STACK).pathname);
        }));
      })
      .catch(function () { return undefined; });  // no stack: the main bundle alone
  }
  return merged;
}

function current(response) {
  if (!response) return response;
  // An entry two bundles hold (a page rewritten with the same indexed text keeps its id): once.
  const seen = new Set();
  const results = response.results.filter(function (result) {
    if (replaced.has(result.id) || seen.has(result.id)) return false;
    seen.add(result.id);
    return true;
  });
  const dropped = response.results.length - results.length;
  if (!dropped) return response;
  return Object.assign({}, response, {
    results: results,
    unfilteredResultCount: Math.max(0, (response.unfilteredResultCount || 0) - dropped),
  });
}

export function options(value) { return pagefind.options(value); }
export function init() { return pagefind.init(); }
export function destroy() { return pagefind.destroy(); }
export function mergeIndex(path, value) { return pagefind.mergeIndex(path, value); }
export async function filters() { await withDelta(); return pagefind.filters(); }
export async function preload(term, value) { await withDelta(); return pagefind.preload(term, value); }
export async function search(term, value) { await withDelta(); return current(await pagefind.search(term, value)); }
export async function debouncedSearch(term, value, timeout) {
  await withDelta();
  return current(await pagefind.debouncedSearch(term, value, timeout));
}
