/** The one part of jstat (no bundled types) the verdict statistics use: Student-t and F quantiles. */
declare module "jstat" {
  const jStat: {
    studentt: { inv(p: number, dof: number): number };
    centralF: { inv(p: number, df1: number, df2: number): number };
  };
  export default jStat;
}
