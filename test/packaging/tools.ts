/**
 * What the packaging tests share: the environment for npm/pnpm, how to run pnpm, the dev
 * tools from the repository's node_modules, and the workspace's projects.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../examples/run-script.js';

/** The environment for npm/pnpm: without the npm_* variables of an enclosing `npm run`. */
export function toolEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key)) env[key] = value;
  env['COREPACK_INTEGRITY_KEYS'] ??= '0';
  return env;
}

/** pnpm from PATH, or the version package.json pins through npx (as scripts/bootstrap.mjs does). */
export function pnpmCommand(): string[] {
  const probe = spawnSync('pnpm', ['--version'], { encoding: 'utf8', env: toolEnv(), timeout: 60_000 });
  if (probe.status === 0 && /^(9|10)\./.test(probe.stdout.trim())) return ['pnpm'];
  const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { packageManager?: string };
  const pinned = /^pnpm@(\d[\w.-]*)/.exec(manifest.packageManager ?? '')?.[1] ?? '10';
  return ['npx', '--yes', `pnpm@${pinned}`];
}

/** The script of a dev tool's command, from the repository's node_modules (run it with this node). */
export function devTool(pkg: string, bin: string): string {
  const manifest = JSON.parse(readFileSync(join(repoRoot, 'node_modules', pkg, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  return join(repoRoot, 'node_modules', pkg, manifest.bin[bin] as string);
}

/** The workspace's project folders, relative to the root (pnpm-workspace.yaml: `- dir` or `- dir/*`). */
export function workspaceProjects(): string[] {
  const yaml = readFileSync(join(repoRoot, 'pnpm-workspace.yaml'), 'utf8');
  const dirs: string[] = [];
  for (const m of yaml.matchAll(/^\s*-\s*['"]?([^'"\s#]+)['"]?/gm)) {
    const pattern = m[1] as string;
    if (pattern.endsWith('/*')) {
      const parent = pattern.slice(0, -2);
      for (const name of readdirSync(join(repoRoot, parent)).sort()) {
        if (existsSync(join(repoRoot, parent, name, 'package.json'))) dirs.push(`${parent}/${name}`);
      }
    } else if (existsSync(join(repoRoot, pattern, 'package.json'))) dirs.push(pattern);
  }
  return dirs;
}
