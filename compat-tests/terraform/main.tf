# What README's "Use it with Terraform" shows, exactly: an instance with a key, user data and tags, an AMI made
# from it, and data sources reading both back. compat-tests/terraform.test.ts applies, re-plans (no changes
# expected) and destroys it against a live server.
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
variable "public_key" { type = string }

provider "aws" {
  region                      = var.region
  access_key                  = var.access_key
  secret_key                  = var.secret_key
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  endpoints {
    ec2 = var.endpoint
  }
}

data "aws_ami" "busybox" {
  owners = ["oarcloud"]
  filter {
    name   = "name"
    values = ["busybox"]
  }
}

resource "aws_key_pair" "deployer" {
  key_name   = "tf-deployer"
  public_key = var.public_key
}

resource "aws_instance" "web" {
  ami           = data.aws_ami.busybox.id
  instance_type = "t2.micro"
  key_name      = aws_key_pair.deployer.key_name
  user_data     = "#!/bin/sh\necho configured-by-terraform > /root/terraform\n"
  tags = {
    Name = "tf-web"
    Env  = "compat"
  }
}

resource "aws_ami_from_instance" "web" {
  name               = "tf-web-image"
  source_instance_id = aws_instance.web.id
  tags = {
    Built = "terraform"
  }
}

data "aws_ami" "mine" {
  owners = ["self"]
  filter {
    name   = "name"
    values = [aws_ami_from_instance.web.name]
  }
}

data "aws_instance" "web" {
  instance_id = aws_instance.web.id
}

output "instance_id" { value = aws_instance.web.id }
output "private_ip" { value = data.aws_instance.web.private_ip }
output "image_id" { value = data.aws_ami.mine.id }
