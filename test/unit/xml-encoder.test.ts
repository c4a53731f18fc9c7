import { expect } from 'chai';
import { XMLParser } from 'fast-xml-parser';
import { EC2_LISTS_SENT_EMPTY, encodeError, encodeResponse } from '../../src/protocol/xml-encoder';
import { ec2Model, elbv2Model } from '../../src/protocol/model';

const parse = (xml: string) => new XMLParser({ ignoreAttributes: false, parseTagValue: false }).parse(xml);

describe('XML encoder', () => {
  it('writes the response envelope with the namespace and requestId first', () => {
    const xml = encodeResponse(ec2Model, 'DescribeRegions', 'req-1', { Regions: [{ RegionName: 'us-east-1', Endpoint: 'h' }] });
    expect(xml).to.match(/^<\?xml[^>]*>\n<DescribeRegionsResponse xmlns="http:\/\/ec2\.amazonaws\.com\/doc\/2016-11-15\/"><requestId>req-1<\/requestId>/);
    const doc = parse(xml).DescribeRegionsResponse;
    expect(doc.regionInfo.item).to.deep.equal({ regionName: 'us-east-1', regionEndpoint: 'h' });
  });

  it('uses locationNames and <item> for lists, ISO timestamps and true/false booleans', () => {
    const xml = encodeResponse(ec2Model, 'DescribeInstances', 'r', {
      Reservations: [
        {
          ReservationId: 'r-1',
          OwnerId: '123456789012',
          Groups: [],
          Instances: [
            {
              InstanceId: 'i-1',
              State: { Code: 16, Name: 'running' },
              LaunchTime: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)),
              EbsOptimized: false,
              Tags: [{ Key: 'a', Value: '<&>' }],
            },
            { InstanceId: 'i-2', State: { Code: 0, Name: 'pending' } },
          ],
        },
      ],
    });
    const res = parse(xml).DescribeInstancesResponse.reservationSet.item;
    expect(res.reservationId).to.equal('r-1');
    expect(res.groupSet).to.equal('');
    const [a, b] = res.instancesSet.item;
    expect(a.instanceState).to.deep.equal({ code: '16', name: 'running' });
    expect(a.launchTime).to.equal('2026-01-02T03:04:05.000Z');
    expect(a.ebsOptimized).to.equal('false');
    expect(a.tagSet.item).to.deep.equal({ key: 'a', value: '<&>' });
    expect(xml).to.contain('&lt;&amp;&gt;');
    expect(b.instanceId).to.equal('i-2');
  });

  it('refuses members the model does not have (a bug, not a client error)', () => {
    expect(() => encodeResponse(ec2Model, 'DescribeRegions', 'r', { Nope: 1 })).to.throw(/Nope is not a member/);
  });

  it('writes errors in the EC2 envelope: Response/Errors/Error + RequestID', () => {
    const doc = parse(encodeError(ec2Model, 'InvalidInstanceID.NotFound', "The instance ID 'i-1' does not exist", 'req-9'));
    expect(doc.Response.Errors.Error).to.deep.equal({ Code: 'InvalidInstanceID.NotFound', Message: "The instance ID 'i-1' does not exist" });
    expect(doc.Response.RequestID).to.equal('req-9');
  });

  it('writes Query protocol answers (ELBv2): the Result wrapper, <member> lists and ResponseMetadata', () => {
    const xml = encodeResponse(elbv2Model, 'DescribeTags', 'req-2', { TagDescriptions: [{ ResourceArn: 'arn:x', Tags: [{ Key: 'a', Value: 'b' }] }] });
    expect(xml).to.match(/^<\?xml[^>]*>\n<DescribeTagsResponse xmlns="http:\/\/elasticloadbalancing\.amazonaws\.com\/doc\/2015-12-01\/"><DescribeTagsResult>/);
    const doc = parse(xml).DescribeTagsResponse;
    expect(doc.DescribeTagsResult.TagDescriptions.member).to.deep.equal({ ResourceArn: 'arn:x', Tags: { member: { Key: 'a', Value: 'b' } } });
    expect(doc.ResponseMetadata.RequestId).to.equal('req-2');
    const empty = parse(encodeResponse(elbv2Model, 'DeleteLoadBalancer', 'req-3', {})).DeleteLoadBalancerResponse;
    expect(empty.ResponseMetadata.RequestId).to.equal('req-3');
  });

  it('writes Query protocol errors in ErrorResponse with the fault type', () => {
    const sender = parse(encodeError(elbv2Model, 'LoadBalancerNotFound', 'not found', 'req-4')).ErrorResponse;
    expect(sender.Error).to.deep.equal({ Type: 'Sender', Code: 'LoadBalancerNotFound', Message: 'not found' });
    expect(sender.RequestId).to.equal('req-4');
    expect(parse(encodeError(elbv2Model, 'InternalError', 'oops', 'r', false)).ErrorResponse.Error.Type).to.equal('Receiver');
  });

  it("leaves out an empty nested list unless AWS sends it empty; a call's own result list is always sent", () => {
    const xml = encodeResponse(ec2Model, 'DescribeInstances', 'r', {
      Reservations: [{ ReservationId: 'r-1', Groups: [], Instances: [{ InstanceId: 'i-1', Tags: [], ProductCodes: [], SecurityGroups: [] }] }],
    });
    const item = parse(xml).DescribeInstancesResponse.reservationSet.item;
    expect(item.groupSet).to.equal('');
    expect(item.instancesSet.item).to.have.property('productCodes', '');
    expect(item.instancesSet.item).not.to.have.property('tagSet');
    const keys = parse(encodeResponse(ec2Model, 'DescribeKeyPairs', 'r', { KeyPairs: [{ KeyName: 'k', Tags: [] }] })).DescribeKeyPairsResponse;
    expect(keys.keySet.item).not.to.have.property('tagSet');
    const none = parse(encodeResponse(ec2Model, 'DescribeInstances', 'r', { Reservations: [] })).DescribeInstancesResponse;
    expect(none).to.have.property('reservationSet', '');
  });

  it('sends no empty nested list of any EC2 answer but those listed, and each listed one is a list member of the model', () => {
    for (const entry of EC2_LISTS_SENT_EMPTY) {
      const [structure, member] = entry.split('.');
      const ref = ec2Model.shape(structure).members?.[member];
      expect(ref, entry).not.to.equal(undefined);
      expect(ec2Model.shape(ref!.shape).type, entry).to.equal('list');
    }
    // every structure an EC2 answer can hold, with every list member empty
    const sneaked: string[] = [];
    for (const action of ec2Model.modelledOperations()) {
      const output = ec2Model.operation(action)!.output;
      if (!output) continue;
      for (const [member, ref] of Object.entries(ec2Model.shape(output).members ?? {})) {
        const shape = ec2Model.shape(ref.shape);
        const itemShape = shape.type === 'list' ? ec2Model.shape(shape.member!.shape) : shape;
        if (itemShape.type !== 'structure') continue;
        const emptyLists = Object.fromEntries(
          Object.entries(itemShape.members ?? {})
            .filter(([, r]) => ec2Model.shape(r.shape).type === 'list')
            .map(([m]) => [m, []]),
        );
        const xml = encodeResponse(ec2Model, action, 'r', { [member]: shape.type === 'list' ? [emptyLists] : emptyLists });
        const itemName = shape.type === 'list' ? (shape.member!.shape as string) : ref.shape;
        for (const m of Object.keys(emptyLists)) {
          const location = itemShape.members![m].locationName ?? m;
          if (new RegExp(`<${location}></${location}>|<${location}/>`).test(xml) && !EC2_LISTS_SENT_EMPTY.has(`${itemName}.${m}`))
            sneaked.push(`${action} ${itemName}.${m}`);
        }
      }
    }
    expect(sneaked).to.deep.equal([]);
  });
});
