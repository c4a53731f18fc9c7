import { defineAction } from './action';
import { imageViews } from './views/image';
import { filterAnswers, splitFilters, type AnswerFilterSpec } from './views/answer-filters';
import { IMAGE_FILTERS } from '../domain/images';

/** DescribeImages' documented filters: the common ones run in SQL, the others are read off the Image answer. */
export const IMAGE_ANSWER_FILTERS: AnswerFilterSpec = {
  action: 'DescribeImages',
  shape: 'Image',
  appliedEarlier: IMAGE_FILTERS,
  aliases: {
    'block-device-mapping.volume-size': 'BlockDeviceMappings.Ebs.VolumeSize',
    'block-device-mapping.volume-type': 'BlockDeviceMappings.Ebs.VolumeType',
    'manifest-location': 'ImageLocation',
    'product-code': 'ProductCodes.ProductCodeId',
    'product-code.type': 'ProductCodes.ProductCodeType',
    'state-reason-code': 'StateReason.Code',
    'state-reason-message': 'StateReason.Message',
  },
  refused: {},
};

export default defineAction('DescribeImages', async (input, { caller, services }) => {
  const { earlier, onAnswer } = splitFilters(IMAGE_ANSWER_FILTERS, input.Filters);
  const rows = await services.images.describe(caller.accountId, { ...input, Filters: earlier });
  return { Images: filterAnswers(IMAGE_ANSWER_FILTERS, await imageViews(rows, services), onAnswer) };
});
