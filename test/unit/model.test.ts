import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { findBotocoreModel, MODEL_FILE, renderModel } from '../../src/protocol/model/generate';
import { modelledOperations } from '../../src/protocol/model';
import { actionRegistry } from '../../src/actions';

describe('EC2 model', () => {
  it('the committed ec2-model.json is exactly what the generator makes from botocore', function () {
    let source: string;
    try {
      source = findBotocoreModel();
    } catch {
      return this.skip();
    }
    if (!existsSync(source)) return this.skip();
    expect(readFileSync(MODEL_FILE, 'utf8') === renderModel(source), 'run: npm run build && npm run gen:model').to.equal(true);
  });

  it('every implemented action is in the model', () => {
    const modelled = new Set(modelledOperations());
    for (const name of actionRegistry().keys()) expect(modelled.has(name), name).to.equal(true);
  });
});
