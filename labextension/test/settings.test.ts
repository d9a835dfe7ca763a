/// <reference types="node" />
// The plugin's settings schema: the key bindings of the cell commands, declared the way
// JupyterLab's own extensions declare theirs, so Settings > Keyboard Shortcuts can rebind
// them.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import { CommandIDs, EDIT_COMMAND } from '../src/model';

const ROOT = resolve(__dirname, '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf-8'));
const schemaDir = join(ROOT, pkg.jupyterlab.schemaDir);
const schema = JSON.parse(readFileSync(join(schemaDir, 'commands.json'), 'utf-8'));
const pluginIds = [
  ...readFileSync(join(ROOT, 'src', 'plugin.ts'), 'utf-8').matchAll(/\bid: '([^']+)'/g)
].map(m => m[1]);

const COMMAND_MODE = '.jp-Notebook.jp-mod-commandMode:not(.jp-mod-readWrite) :focus';
const EDIT_MODE = '.jp-Notebook.jp-mod-editMode';

describe('the settings schema', () => {
  it('is named after a plugin of src/plugin.ts', () => {
    expect(pkg.jupyterlab.schemaDir).toBe('schema');
    expect(pkg.files).toContain('schema/*.json');
    const files = readdirSync(schemaDir).filter(name => name.endsWith('.json'));
    expect(files).toEqual(['commands.json']);
    for (const file of files) {
      expect(pluginIds).toContain(`${pkg.name}:${file.replace(/\.json$/, '')}`);
    }
  });

  it('holds no settings, only shortcuts', () => {
    expect(schema).toMatchObject({
      type: 'object',
      properties: {},
      additionalProperties: false
    });
    expect(typeof schema.title).toBe('string');
  });

  it('binds each cell command in command mode and in edit mode', () => {
    const shortcuts: { command: string; keys: string[]; selector: string }[] =
      schema['jupyter.lab.shortcuts'];
    const keys = { ask: 'Accel Alt G', explain: 'Accel Alt E', fix: 'Accel Alt F' };
    const expected = (Object.keys(keys) as (keyof typeof keys)[]).flatMap(kind =>
      [COMMAND_MODE, EDIT_MODE].map(selector => ({
        command: CommandIDs[kind],
        keys: [keys[kind]],
        selector
      }))
    );
    const edit = [COMMAND_MODE, EDIT_MODE].map(selector => ({
      command: EDIT_COMMAND,
      keys: ['Accel Alt K'],
      selector
    }));
    expect(shortcuts).toEqual([...expected, ...edit]);
  });
});
