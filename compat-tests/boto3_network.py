"""boto3's resource API for VPC networking, as README shows it: a VPC, a subnet, a security group with a rule, an
instance in them; then everything deleted. Reads the endpoint and credentials from the environment; argv[1] =
image id. Prints one JSON object with what it observed; any exception fails the run."""
import json
import sys

import boto3

image_id = sys.argv[1]
fast = {"Delay": 1, "MaxAttempts": 120}
ec2 = boto3.resource("ec2")
client = ec2.meta.client
seen = {}

vpc = ec2.create_vpc(CidrBlock="10.50.0.0/16")
vpc.wait_until_available()
vpc.create_tags(Tags=[{"Key": "Name", "Value": "boto3-vpc"}])
subnet = vpc.create_subnet(CidrBlock="10.50.3.0/24")
group = vpc.create_security_group(GroupName="boto3-web", Description="boto3 web")
group.authorize_ingress(IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                                        "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "https"}]}])
group.reload()
seen["ingress"] = [(p["IpProtocol"], p["FromPort"], p["IpRanges"][0]["Description"]) for p in group.ip_permissions]
[instance] = ec2.create_instances(ImageId=image_id, InstanceType="t2.nano", MinCount=1, MaxCount=1,
                                  NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": subnet.id, "Groups": [group.id]}])
instance.wait_until_running(WaiterConfig=fast)
instance.reload()
seen["instance"] = {"vpc": instance.vpc_id == vpc.id, "subnet": instance.subnet_id == subnet.id,
                    "groups": [g["GroupName"] for g in instance.security_groups], "ip": instance.private_ip_address}
seen["enis"] = [eni.id for eni in subnet.network_interfaces.all()]
seen["vpc_instances"] = [i.id == instance.id for i in vpc.instances.all()]
instance.terminate()
instance.wait_until_terminated(WaiterConfig=fast)
group.delete()
subnet.delete()
vpc.delete()
try:
    client.describe_vpcs(VpcIds=[vpc.id])
    seen["error"] = None
except client.exceptions.ClientError as e:
    seen["error"] = e.response["Error"]["Code"]
print(json.dumps(seen))
