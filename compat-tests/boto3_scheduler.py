"""EventBridge Scheduler through boto3 (REST-JSON): a group with tags, schedules with datetimes, the paginator, an
update, errors by code and status, and everything deleted. Prints what it saw as JSON."""
import datetime
import json

import boto3
from botocore.exceptions import ClientError

seen = {}
scheduler = boto3.client("scheduler")
role = "arn:aws:iam::123456789012:role/boto-scheduler"
group = scheduler.create_schedule_group(Name="boto-group", Tags=[{"Key": "team", "Value": "b3"}])["ScheduleGroupArn"]
seen["group_arn_ok"] = group.endswith(":schedule-group/boto-group")
start = datetime.datetime(2030, 1, 1, 8, 0, tzinfo=datetime.timezone.utc)
for name in ["boto-a", "boto-b", "boto-c"]:
    scheduler.create_schedule(
        Name=name,
        GroupName="boto-group",
        ScheduleExpression="rate(12 hours)",
        StartDate=start,
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": "arn:aws:scheduler:::aws-sdk:ec2:rebootInstances",
            "RoleArn": role,
            "Input": json.dumps({"InstanceIds": ["i-0123456789abcdef0"]}),
        },
    )
got = scheduler.get_schedule(Name="boto-a", GroupName="boto-group")
seen["start_date"] = got["StartDate"] == start
seen["creation_is_datetime"] = isinstance(got["CreationDate"], datetime.datetime)
seen["pages"] = [
    [s["Name"] for s in page["Schedules"]]
    for page in scheduler.get_paginator("list_schedules").paginate(GroupName="boto-group", PaginationConfig={"PageSize": 2})
]
scheduler.update_schedule(
    Name="boto-b",
    GroupName="boto-group",
    ScheduleExpression="cron(30 6 ? * SUN *)",
    ScheduleExpressionTimezone="Asia/Tokyo",
    State="DISABLED",
    FlexibleTimeWindow={"Mode": "OFF"},
    Target=got["Target"],
)
updated = scheduler.get_schedule(Name="boto-b", GroupName="boto-group")
seen["updated"] = {k: updated[k] for k in ["ScheduleExpression", "ScheduleExpressionTimezone", "State"]}
seen["tags"] = scheduler.list_tags_for_resource(ResourceArn=group)["Tags"]
try:
    scheduler.get_schedule(Name="boto-missing", GroupName="boto-group")
except ClientError as err:
    seen["not_found"] = [err.response["Error"]["Code"], err.response["ResponseMetadata"]["HTTPStatusCode"]]
try:
    scheduler.create_schedule_group(Name="boto-group")
except ClientError as err:
    seen["conflict"] = [err.response["Error"]["Code"], err.response["ResponseMetadata"]["HTTPStatusCode"]]
scheduler.delete_schedule_group(Name="boto-group")
seen["left"] = [s["Name"] for s in scheduler.list_schedules()["Schedules"]]
print(json.dumps(seen))
