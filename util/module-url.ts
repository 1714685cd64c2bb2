/**
 * Where the library's own modules are. In the repository they are TypeScript sources run
 * through a loader (tsx, the launcher's hooks); in the installed package, compiled JavaScript
 * in dist/. A module that starts a worker or a process on a sibling module names it without
 * an extension and gets the one its own file has.
 */
import { pathToFileURL } from 'node:url';

/** True when `base` (an import.meta.url) is a TypeScript source: the library runs from the repository. */
export function isSourceUrl(base: string): boolean {
  return /\.(c|m)?ts$/.test(base.split(/[?#]/)[0]!);
}

/** The URL of the sibling module `relative` (no extension), with the extension of `base`'s own file. */
export function moduleUrl(relative: string, base: string): URL {
  return new URL(`${relative}${isSourceUrl(base) ? '.ts' : '.js'}`, base);
}

/** A file URL names a TypeScript file (.ts, .mts, .cts, .tsx). */
export function isTypeScriptUrl(url: string): boolean {
  return /\.(c|m)?tsx?$/.test(url.split(/[?#]/)[0]!);
}

/** A script path or URL as the URL a job imports (file: for a path). */
export function toModuleUrl(script: string): string {
  if (/^(file|data|node):/.test(script)) return script;
  return pathToFileURL(script).href;
}
