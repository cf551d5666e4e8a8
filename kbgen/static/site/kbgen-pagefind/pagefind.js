/* kbgen's Pagefind entry module: the site's main Pagefind bundle plus its delta bundle.
 *
 * A build re-indexes only the pages whose content changed since the main bundle was written;
 * those go into a second bundle, pagefind-delta/, whose manifest (kbgen-delta.json) lists the
 * main bundle's entries it replaces and those of pages the site no longer has (kbgen/pagefind.py).
 * Pagefind's UI imports `${bundlePath}pagefind.js`; kbgen.js points it here. This module offers
 * Pagefind's own functions, merges the delta bundle before the first search and drops the
 * replaced entries from every result list, so each page is found once, with its current text.
 */
import * as pagefind from "../../pagefind/pagefind.js";

const DELTA = new URL("../../pagefind-delta/", import.meta.url);
let replaced = new Set();
let merged = null;

function withDelta() {
  if (merged === null) {
    merged = fetch(new URL("kbgen-delta.json?ts=" + Date.now(), DELTA))
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (manifest) {
        if (!manifest) return undefined;
        replaced = new Set(manifest.superseded || []);
        return pagefind.mergeIndex(DELTA.pathname);
      })
      .catch(function () { return undefined; });  // no delta: the main bundle alone
  }
  return merged;
}

function current(response) {
  if (!response) return response;
  // An entry both bundles hold (a page rewritten with the same indexed text keeps its id): once.
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
