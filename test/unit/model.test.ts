import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { FILTERS_FILE, modelFile, typesFile, renderFilters, renderModel, renderTypes, SERVICE_SPECS } from '../../src/protocol/model/generate';
import { ec2Model, elbv2Model } from '../../src/protocol/model';
import { actionRegistry } from '../../src/actions';
import { elbActionRegistry } from '../../src/actions/elbv2';

describe('service models', () => {
  for (const spec of SERVICE_SPECS) {
    it(`the committed ${spec.id}-model.json is exactly what the generator makes from the pinned botocore model`, () => {
      expect(readFileSync(modelFile(spec), 'utf8') === renderModel(spec), 'run: npm run build && npm run gen:model').to.equal(true);
    });

    it(`the committed ${spec.id}-shapes.ts is exactly what the generator makes from the pinned botocore model`, () => {
      expect(readFileSync(typesFile(spec), 'utf8') === renderTypes(spec), 'run: npm run build && npm run gen:model').to.equal(true);
    });
  }

  it('the committed list of documented EC2 filters is exactly what the generator reads off the pinned model', () => {
    expect(readFileSync(FILTERS_FILE, 'utf8') === renderFilters(), 'run: npm run build && npm run gen:model').to.equal(true);
  });

  it('every implemented action is in its model', () => {
    for (const [model, registry] of [
      [ec2Model, actionRegistry()],
      [elbv2Model, elbActionRegistry()],
    ] as const) {
      const modelled = new Set(model.modelledOperations());
      for (const name of registry.keys()) expect(modelled.has(name), name).to.equal(true);
    }
  });
});
