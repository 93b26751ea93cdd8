/** The body of every error answer: RFC 9457 problem details (`application/problem+json`). */
import { z } from 'zod';

/** RFC 9457 problem details, with the validation issues of a 400 in `errors`. */
export const problemDetailsSchema = z
  .object({
    type: z
      .string()
      .meta({ description: 'a URI naming the problem type; about:blank for plain HTTP errors' }),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    instance: z.string().meta({ description: 'the request path' }),
    requestId: z.string().optional().meta({ description: 'the id under which the request was logged' }),
    errors: z
      .array(
        z.object({
          pointer: z
            .string()
            .optional()
            .meta({ description: 'RFC 6901 pointer into the request body, e.g. /A/3' }),
          parameter: z.string().optional().meta({ description: 'the query or path parameter at fault' }),
          header: z.string().optional().meta({ description: 'the request header at fault' }),
          detail: z.string(),
        }),
      )
      .optional(),
  })
  .meta({ id: 'ProblemDetails' });

export type ProblemDetails = z.output<typeof problemDetailsSchema>;
