# What README's "Load balancers with Terraform" shows, exactly: an internal application load balancer in a VPC,
# a target group with the instance attached and an HTTP listener forwarding to it. compat-tests/terraform.test.ts
# applies, re-plans (no changes expected) and destroys it against a live server, and fetches the instance's page
# through the load balancer's DNS name from inside the VPC.
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

provider "aws" {
  region                      = var.region
  access_key                  = var.access_key
  secret_key                  = var.secret_key
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  endpoints {
    ec2   = var.endpoint
    elbv2 = var.endpoint
  }
}

data "aws_ami" "busybox" {
  owners = ["oarcloud"]
  filter {
    name   = "name"
    values = ["busybox"]
  }
}

resource "aws_vpc" "main" {
  cidr_block = "10.1.0.0/16"
  tags       = { Name = "tf-lb-vpc" }
}

resource "aws_subnet" "a" {
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.1.1.0/24"
  availability_zone = "${var.region}a"
}

resource "aws_security_group" "lb" {
  name        = "tf-lb"
  description = "load balancer"
  vpc_id      = aws_vpc.main.id
  ingress {
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["10.1.0.0/16"]
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_security_group" "web" {
  name        = "tf-web"
  description = "web servers"
  vpc_id      = aws_vpc.main.id
  ingress {
    from_port       = 80
    to_port         = 80
    protocol        = "tcp"
    security_groups = [aws_security_group.lb.id]
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_instance" "web" {
  ami                    = data.aws_ami.busybox.id
  instance_type          = "t2.nano"
  subnet_id              = aws_subnet.a.id
  vpc_security_group_ids = [aws_security_group.web.id]
  user_data              = "mkdir -p /www; echo served-by-terraform > /www/index.html; httpd -p 80 -h /www"
}

resource "aws_lb" "internal" {
  name               = "tf-internal"
  internal           = true
  load_balancer_type = "application"
  security_groups    = [aws_security_group.lb.id]
  subnets            = [aws_subnet.a.id]
  tags               = { Name = "tf-internal" }
}

resource "aws_lb_target_group" "web" {
  name     = "tf-web"
  port     = 80
  protocol = "HTTP"
  vpc_id   = aws_vpc.main.id
  health_check {
    path                = "/"
    interval            = 5
    timeout             = 2
    healthy_threshold   = 2
    unhealthy_threshold = 2
  }
}

resource "aws_lb_target_group_attachment" "web" {
  target_group_arn = aws_lb_target_group.web.arn
  target_id        = aws_instance.web.id
  port             = 80
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.internal.arn
  port              = 80
  protocol          = "HTTP"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.web.arn
  }
}

output "instance_id" { value = aws_instance.web.id }
output "lb_dns_name" { value = aws_lb.internal.dns_name }
