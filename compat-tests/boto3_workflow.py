"""boto3 against OAR Cloud: the client API and the resource API, as README shows them.
Reads the endpoint and credentials from the environment (what `eval "$(bin/oarcloud env)"` sets); argv[1] = image id.
Prints one JSON object with what it observed; any exception fails the run."""
import json
import sys

import boto3

image_id = sys.argv[1]
fast = {"Delay": 1, "MaxAttempts": 120}
ec2 = boto3.client("ec2")
seen = {"regions": [r["RegionName"] for r in ec2.describe_regions()["Regions"]]}

# client API
run = ec2.run_instances(ImageId=image_id, InstanceType="t2.nano", MinCount=1, MaxCount=1,
                        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "boto3-client"}]}])
client_id = run["Instances"][0]["InstanceId"]
ec2.get_waiter("instance_running").wait(InstanceIds=[client_id], WaiterConfig=fast)
pages = ec2.get_paginator("describe_instances").paginate(PaginationConfig={"PageSize": 5})
seen["client_states"] = [i["State"]["Name"] for p in pages for r in p["Reservations"] for i in r["Instances"]]

# resource API
resource = boto3.resource("ec2")
[instance] = resource.create_instances(ImageId=image_id, MinCount=1, MaxCount=1, InstanceType="t2.nano")
instance.wait_until_running(WaiterConfig=fast)
instance.reload()
instance.create_tags(Tags=[{"Key": "Name", "Value": "boto3-resource"}])
seen["resource"] = {"state": instance.state["Name"], "ip": instance.private_ip_address, "type": instance.instance_type}
seen["filtered"] = [i.id for i in resource.instances.filter(Filters=[{"Name": "tag:Name", "Values": ["boto3-*"]}])]
instance.terminate()
ec2.terminate_instances(InstanceIds=[client_id])
instance.wait_until_terminated(WaiterConfig=fast)
ec2.get_waiter("instance_terminated").wait(InstanceIds=[client_id], WaiterConfig=fast)
try:
    ec2.describe_instances(InstanceIds=["i-0123456789abcdef0"])
    seen["error"] = None
except ec2.exceptions.ClientError as e:
    seen["error"] = e.response["Error"]["Code"]
seen["ids"] = sorted([client_id, instance.id])
print(json.dumps(seen))
