/**
 * The job summary, built up as steps finish so that a failing run still shows everything that
 * happened before the failure. main.ts writes it once, in a finally block.
 */
export class JobReport {
  private readonly parts: string[] = [];
  private headline?: string;

  constructor(private readonly title: string) {}

  /** One line under the title: the outcome, e.g. "✅ prod: 3 → 4". Set last wins. */
  setHeadline(text: string): void {
    this.headline = text;
  }

  section(heading: string, body: string | string[]): void {
    const text = Array.isArray(body) ? body.join('\n') : body;
    this.parts.push(`### ${heading}\n\n${text}\n`);
  }

  table(heading: string, header: string[], rows: string[][], note?: string): void {
    const lines = [
      `| ${header.map(escapeCell).join(' | ')} |`,
      `| ${header.map(() => '---').join(' | ')} |`,
      ...rows.map((row) => `| ${row.map(escapeCell).join(' | ')} |`),
    ];
    if (note) lines.push('', note);
    this.section(heading, lines);
  }

  toMarkdown(): string {
    const head = [`## ${this.title}`, ''];
    if (this.headline) head.push(this.headline, '');
    return [...head, ...this.parts].join('\n');
  }
}

export function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

/** Inline code that survives backticks inside the value. */
export function code(text: string): string {
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
}
