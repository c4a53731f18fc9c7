"""CloudWatch through boto3 over Smithy RPC v2 CBOR, and SNS over Query.

botocore 1.43 picks JSON for CloudWatch; newer SDKs pick the model's first protocol, CBOR. To speak CBOR with this
boto3, the script points AWS_DATA_PATH at a copy of botocore's own CloudWatch model whose only protocol is
smithy-rpc-v2-cbor: botocore's real CBOR serializer and parser then run. Prints what it saw as JSON.
"""
import datetime
import gzip
import json
import os
import sys
import tempfile

import botocore

model_dir = tempfile.mkdtemp(prefix="oarcloud-cbor-")
source = os.path.join(os.path.dirname(botocore.__file__), "data", "cloudwatch", "2010-08-01", "service-2.json.gz")
model = json.load(gzip.open(source))
model["metadata"]["protocol"] = "smithy-rpc-v2-cbor"
model["metadata"]["protocols"] = ["smithy-rpc-v2-cbor"]
os.makedirs(os.path.join(model_dir, "cloudwatch", "2010-08-01"))
with open(os.path.join(model_dir, "cloudwatch", "2010-08-01", "service-2.json"), "w") as f:
    json.dump(model, f)
os.environ["AWS_DATA_PATH"] = model_dir

import boto3  # noqa: E402  (after AWS_DATA_PATH: the loader reads it when the session is made)
from botocore.exceptions import ClientError  # noqa: E402

seen = {}
cw = boto3.client("cloudwatch")
sns = boto3.client("sns")
seen["protocol"] = cw.meta.service_model.resolved_protocol

now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0) - datetime.timedelta(minutes=1)
cw.put_metric_data(
    Namespace="Boto/Jobs",
    MetricData=[
        {"MetricName": "Duration", "Dimensions": [{"Name": "Queue", "Value": "q1"}], "Timestamp": now, "Values": [1.0, 2.0, 3.0], "Unit": "Seconds"},
        {"MetricName": "Duration", "Dimensions": [{"Name": "Queue", "Value": "q1"}], "Timestamp": now, "StatisticValues": {"SampleCount": 2, "Sum": 10, "Minimum": 4, "Maximum": 6}, "Unit": "Seconds"},
    ],
)
stats = cw.get_metric_statistics(
    Namespace="Boto/Jobs", MetricName="Duration", Dimensions=[{"Name": "Queue", "Value": "q1"}],
    StartTime=now - datetime.timedelta(minutes=5), EndTime=now + datetime.timedelta(minutes=1), Period=60,
    Statistics=["SampleCount", "Sum", "Maximum"],
)
point = stats["Datapoints"][0]
seen["datapoint"] = {"SampleCount": point["SampleCount"], "Sum": point["Sum"], "Maximum": point["Maximum"], "Unit": point["Unit"]}
seen["timestamp_is_datetime"] = isinstance(point["Timestamp"], datetime.datetime) and point["Timestamp"] == now
seen["metrics"] = [m["MetricName"] for page in cw.get_paginator("list_metrics").paginate(Namespace="Boto/Jobs") for m in page["Metrics"]]

topic = sns.create_topic(Name="boto-alerts", Attributes={"DisplayName": "Boto"}, Tags=[{"Key": "k", "Value": "v"}])["TopicArn"]
seen["display_name"] = sns.get_topic_attributes(TopicArn=topic)["Attributes"]["DisplayName"]
sub = sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="boto@example.test")["SubscriptionArn"]
seen["pending"] = sub
seen["subscriptions"] = [s["Protocol"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]]
seen["tags"] = sns.list_tags_for_resource(ResourceArn=topic)["Tags"]
seen["message_id"] = bool(sns.publish(TopicArn=topic, Message="hello", Subject="hi")["MessageId"])

cw.put_metric_alarm(
    AlarmName="boto-duration", Namespace="Boto/Jobs", MetricName="Duration", Dimensions=[{"Name": "Queue", "Value": "q1"}],
    Statistic="Maximum", Period=60, EvaluationPeriods=1, Threshold=100, ComparisonOperator="GreaterThanThreshold",
    AlarmActions=[topic], Tags=[{"Key": "team", "Value": "b3"}],
)
cw.get_waiter("alarm_exists").wait(AlarmNames=["boto-duration"])
cw.set_alarm_state(AlarmName="boto-duration", StateValue="ALARM", StateReason="set by boto3")
alarm = cw.describe_alarms(AlarmNames=["boto-duration"])["MetricAlarms"][0]
seen["alarm"] = {"StateValue": alarm["StateValue"], "Threshold": alarm["Threshold"], "Period": alarm["Period"]}
seen["alarm_time_is_datetime"] = isinstance(alarm["StateUpdatedTimestamp"], datetime.datetime)
seen["history"] = sorted({h["HistoryItemType"] for h in cw.describe_alarm_history(AlarmName="boto-duration")["AlarmHistoryItems"]})
seen["alarm_tags"] = cw.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]
try:
    cw.set_alarm_state(AlarmName="nobody", StateValue="OK", StateReason="x")
except ClientError as e:
    seen["error"] = [e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]]
cw.delete_alarms(AlarmNames=["boto-duration"])
sns.delete_topic(TopicArn=topic)
try:
    sns.get_topic_attributes(TopicArn=topic)
except ClientError as e:
    seen["deleted"] = e.response["Error"]["Code"]
json.dump(seen, sys.stdout)
