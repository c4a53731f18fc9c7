/**
 * A resource's tags as EC2 answers them: AWS leaves `tagSet` out of a resource that has no tag (boto3 then has no
 * `Tags` key), rather than sending an empty list.
 */
import type { Tag } from '../../protocol/model/ec2-shapes';

export function tagSet(tags: Tag[] | undefined): Tag[] | undefined {
  return tags && tags.length > 0 ? tags : undefined;
}
