# What README's "Alarms and notifications with Terraform" shows, exactly: an instance, an SNS topic with e-mail and
# HTTP subscriptions, and a CPU alarm that notifies the topic when it fires and when it clears; and (README "Live
# resize") a rule that resizes the instance in place when it is busy and back when it is quiet; and (README "Resize
# and stop by schedule") a schedule group whose schedules shrink the instance every evening and stop it on Fridays.
# compat-tests/terraform.test.ts applies, re-plans (no changes expected) and destroys it against a live server.
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "5.100.0" }
  }
}

variable "endpoint" { type = string }
variable "access_key" { type = string }
variable "secret_key" {
  type      = string
  sensitive = true
}
variable "region" { type = string }
variable "webhook" { type = string }

provider "aws" {
  region                      = var.region
  access_key                  = var.access_key
  secret_key                  = var.secret_key
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  endpoints {
    ec2        = var.endpoint
    sns        = var.endpoint
    cloudwatch = var.endpoint
    scheduler  = var.endpoint
  }
}

data "aws_ami" "busybox" {
  owners = ["oarcloud"]
  filter {
    name   = "name"
    values = ["busybox"]
  }
}

resource "aws_instance" "app" {
  ami           = data.aws_ami.busybox.id
  instance_type = "t2.nano"
  tags          = { Name = "watched" }
}

resource "aws_sns_topic" "alerts" {
  name = "tf-alerts"
  tags = { team = "ops" }
}

resource "aws_sns_topic_subscription" "mail" {
  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "email"
  endpoint  = "ops@example.test"
}

resource "aws_sns_topic_subscription" "hook" {
  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "http"
  endpoint  = var.webhook
}

resource "aws_cloudwatch_metric_alarm" "cpu" {
  alarm_name          = "tf-cpu-high"
  alarm_description   = "CPU of the app instance"
  namespace           = "AWS/EC2"
  metric_name         = "CPUUtilization"
  dimensions          = { InstanceId = aws_instance.app.id }
  statistic           = "Average"
  period              = 60
  evaluation_periods  = 2
  threshold           = 80
  comparison_operator = "GreaterThanThreshold"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
  tags                = { team = "ops" }
}

resource "aws_cloudwatch_metric_alarm" "grow" {
  alarm_name          = "tf-grow-when-busy"
  namespace           = "AWS/EC2"
  metric_name         = "CPUUtilization"
  dimensions          = { InstanceId = aws_instance.app.id }
  statistic           = "Average"
  period              = 60
  evaluation_periods  = 3
  threshold           = 80
  comparison_operator = "GreaterThanThreshold"
  alarm_actions       = ["arn:aws:oarcloud:${var.region}::resize/t2.small"]
  ok_actions          = ["arn:aws:oarcloud:${var.region}::resize/t2.nano"]
}

output "topic_arn" { value = aws_sns_topic.alerts.arn }
output "alarm_arn" { value = aws_cloudwatch_metric_alarm.cpu.arn }
output "resize_actions" { value = aws_cloudwatch_metric_alarm.grow.alarm_actions }

resource "aws_scheduler_schedule_group" "office" {
  name = "office-hours"
  tags = { team = "ops" }
}

resource "aws_scheduler_schedule" "shrink" {
  name                         = "shrink-in-the-evening"
  group_name                   = aws_scheduler_schedule_group.office.name
  description                  = "back to the small size after work"
  schedule_expression          = "cron(0 19 ? * MON-FRI *)"
  schedule_expression_timezone = "Europe/Paris"
  flexible_time_window {
    mode = "OFF"
  }
  target {
    arn      = "arn:aws:scheduler:::aws-sdk:ec2:modifyInstanceAttribute"
    role_arn = "arn:aws:iam::123456789012:role/oarcloud-scheduler"
    input = jsonencode({
      InstanceId   = aws_instance.app.id
      InstanceType = { Value = "t2.nano" }
    })
  }
}

resource "aws_scheduler_schedule" "weekend" {
  name                = "stop-for-the-weekend"
  group_name          = aws_scheduler_schedule_group.office.name
  schedule_expression = "cron(0 20 ? * 6 *)"
  start_date          = "2030-01-01T00:00:00Z"
  flexible_time_window {
    mode                      = "FLEXIBLE"
    maximum_window_in_minutes = 15
  }
  target {
    arn      = "arn:aws:scheduler:::aws-sdk:ec2:stopInstances"
    role_arn = "arn:aws:iam::123456789012:role/oarcloud-scheduler"
    input    = jsonencode({ InstanceIds = [aws_instance.app.id] })
    retry_policy {
      maximum_event_age_in_seconds = 3600
      maximum_retry_attempts       = 3
    }
  }
}

output "schedule_arns" { value = [aws_scheduler_schedule.shrink.arn, aws_scheduler_schedule.weekend.arn] }
