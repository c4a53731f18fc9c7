"""boto3's elbv2 client against a live server: an internal network load balancer with a TCP listener and a target
group holding an instance, the load-balancer-available waiter, a paginator, tags, a ClientError's code, and
everything deleted (with the load-balancers-deleted waiter). Prints what it saw as JSON for the mocha test to check.
usage: boto3_lb.py <busybox image id>"""
import json
import sys

import boto3
from botocore.exceptions import ClientError

image = sys.argv[1]
ec2 = boto3.client("ec2")
elb = boto3.client("elbv2")
seen = {}

vpc = ec2.create_vpc(CidrBlock="10.52.0.0/16")["Vpc"]["VpcId"]
subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.52.1.0/24")["Subnet"]["SubnetId"]
instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t2.nano", SubnetId=subnet)["Instances"][0]["InstanceId"]
ec2.get_waiter("instance_running").wait(InstanceIds=[instance], WaiterConfig={"Delay": 1, "MaxAttempts": 120})

tg = elb.create_target_group(Name="boto3-tcp", Protocol="TCP", Port=7000, VpcId=vpc, TargetType="instance")["TargetGroups"][0]
seen["target_group"] = {k: tg[k] for k in ("Protocol", "Port", "TargetType", "HealthCheckProtocol")}
elb.register_targets(TargetGroupArn=tg["TargetGroupArn"], Targets=[{"Id": instance}])
lb = elb.create_load_balancer(Name="boto3-nlb", Type="network", Scheme="internal", Subnets=[subnet], Tags=[{"Key": "team", "Value": "b3"}])["LoadBalancers"][0]
elb.get_waiter("load_balancer_available").wait(LoadBalancerArns=[lb["LoadBalancerArn"]], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
listener = elb.create_listener(
    LoadBalancerArn=lb["LoadBalancerArn"],
    Protocol="TCP",
    Port=7000,
    DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}],
)["Listeners"][0]
seen["listener"] = {"Protocol": listener["Protocol"], "Port": listener["Port"]}
seen["address"] = lb["AvailabilityZones"][0]["LoadBalancerAddresses"][0]["PrivateIPv4Address"]
pages = elb.get_paginator("describe_load_balancers").paginate(PaginationConfig={"PageSize": 1})
seen["names"] = [b["LoadBalancerName"] for page in pages for b in page["LoadBalancers"]]
seen["tags"] = elb.describe_tags(ResourceArns=[lb["LoadBalancerArn"]])["TagDescriptions"][0]["Tags"]
health = elb.describe_target_health(TargetGroupArn=tg["TargetGroupArn"])["TargetHealthDescriptions"]
seen["targets"] = [h["Target"]["Id"] == instance for h in health]
try:
    elb.delete_target_group(TargetGroupArn=tg["TargetGroupArn"])
except ClientError as err:
    seen["error"] = err.response["Error"]["Code"]

elb.delete_listener(ListenerArn=listener["ListenerArn"])
elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
elb.get_waiter("load_balancers_deleted").wait(LoadBalancerArns=[lb["LoadBalancerArn"]], WaiterConfig={"Delay": 1, "MaxAttempts": 30})
elb.delete_target_group(TargetGroupArn=tg["TargetGroupArn"])
ec2.terminate_instances(InstanceIds=[instance])
ec2.get_waiter("instance_terminated").wait(InstanceIds=[instance], WaiterConfig={"Delay": 1, "MaxAttempts": 300})
ec2.delete_subnet(SubnetId=subnet)
ec2.delete_vpc(VpcId=vpc)
print(json.dumps(seen))
