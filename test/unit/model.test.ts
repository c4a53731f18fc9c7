import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { MODEL_FILE, TYPES_FILE, renderModel, renderTypes } from '../../src/protocol/model/generate';
import { modelledOperations } from '../../src/protocol/model';
import { actionRegistry } from '../../src/actions';

describe('EC2 model', () => {
  it('the committed ec2-model.json is exactly what the generator makes from the pinned botocore model', () => {
    expect(readFileSync(MODEL_FILE, 'utf8') === renderModel(), 'run: npm run build && npm run gen:model').to.equal(true);
  });

  it('the committed ec2-shapes.ts is exactly what the generator makes from the pinned botocore model', () => {
    expect(readFileSync(TYPES_FILE, 'utf8') === renderTypes(), 'run: npm run build && npm run gen:model').to.equal(true);
  });

  it('every implemented action is in the model', () => {
    const modelled = new Set(modelledOperations());
    for (const name of actionRegistry().keys()) expect(modelled.has(name), name).to.equal(true);
  });
});
