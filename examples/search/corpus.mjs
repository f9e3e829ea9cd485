#!/usr/bin/env node
// Generates a deterministic Japanese blog site for evaluating site search:
//
//   node examples/search/corpus.mjs OUTDIR [--posts 240] [--seed 1]
//
// Writes OUTDIR/site.toml and OUTDIR/content/posts/NNN-slug.md (YAML front matter:
// title, date, tags). All text is generated here from small hand-written pieces.
// The vocabulary is chosen to produce the cases a Japanese search gets wrong:
// compounds and their fragments in different posts (新幹線 / 新大阪 / 新千歳空港 /
// 幹線道路 / 新しい; 東京都 / 東京から京都へ; クレジットカード / クレジット / カード /
// ポイントカード; 在宅勤務 / 在宅 / 勤務先; 機械学習; 確定申告), katakana loanwords,
// ASCII and mixed terms (GitHub Actions, EC2, AWS, Docker, TypeScript, S3), full-width
// forms (ＡＷＳ, ＧｉｔＨｕｂ, ＥＣ２) and half-width katakana (ｶﾒﾗ, ﾊﾟｿｺﾝ) in some posts,
// inflected verbs, hiragana words, single-kanji words, emoji, code blocks, lists,
// headings, paragraphs wrapped over several lines, and dates from 2019 to 2025.
import { mkdirSync, writeFileSync, rmSync, existsSync } from "node:fs";
import { join } from "node:path";

// ---------------------------------------------------------------- arguments
const args = process.argv.slice(2);
const out = args.find((a, i) => !a.startsWith("--") && !(i > 0 && args[i - 1].startsWith("--")));
if (!out) {
  console.error("usage: corpus.mjs OUTDIR [--posts 240] [--seed 1]");
  process.exit(2);
}
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const N_POSTS = opt("--posts", 240);
const SEED = opt("--seed", 1);

// ---------------------------------------------------------------- randomness
function mulberry32(a) {
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = mulberry32(SEED * 2654435761);
const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
const chance = (p) => rnd() < p;
function shuffle(xs) {
  const a = xs.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

// ---------------------------------------------------------------- vocabulary
const SLOTS = {
  place: ["札幌", "仙台", "名古屋", "金沢", "広島", "博多", "松本", "長野", "高松", "函館"],
  food: ["ラーメン", "味噌汁", "駅弁", "カレー", "蕎麦", "寿司", "団子", "おにぎり", "焼き鳥"],
  n: ["2", "3", "5", "7", "10", "12", "15", "20", "30", "45"],
  hour: ["6時", "7時半", "9時", "11時", "13時", "16時", "18時", "21時"],
  friend: ["友人", "同僚", "妹", "父", "先輩", "後輩"],
  season: ["春", "夏", "秋", "冬", "梅雨", "年末"],
  emoji: ["🍜", "🚄", "🐱", "☔️", "🎉", "🏃", "📷", "💻", "👨‍👩‍👧", "🇯🇵", "🍣", "✨"],
};

// Each topic: title patterns, headings, sentences, list items, code blocks, tags.
const TOPICS = {
  shinkansen: {
    tags: ["旅行", "鉄道"],
    titles: [
      "新幹線で{place}へ日帰り旅行",
      "新幹線の予約をスマホで済ませた話",
      "{place}まで新幹線、車内で{food}を食べた",
      "東海道新幹線の指定席について",
      "週末の{place}旅行記",
    ],
    headings: ["新幹線の予約", "車内での過ごし方", "駅弁のこと", "移動の記録"],
    sentences: [
      "朝{hour}の新幹線に乗って{place}へ向かった。",
      "新幹線の予約はアプリで前日の夜に済ませておいた。",
      "指定席を予約したので、混雑していても座って移動できた。",
      "新幹線の車内で{food}を食べながら窓の外を眺めた。",
      "新大阪で乗り換えて、在来線で{place}を目指した。",
      "東海道新幹線は平日の昼でもかなり混んでいた。",
      "予約の変更は出発の{n}分前までできるので助かる。",
      "帰りの新幹線では{friend}と今日の写真を見返した。",
      "新幹線の座席にはコンセントがあり、ﾊﾟｿｺﾝを充電できた。",
      "車窓から見えた富士山がとてもきれいだった🚄",
      "新幹線を降りると{place}は思ったより寒かった。",
    ],
    list: ["新幹線の指定席", "駅弁と{food}", "乗り換え案内アプリ", "モバイルバッテリー", "新大阪での乗り換え"],
  },
  trip: {
    tags: ["旅行"],
    titles: [
      "新千歳空港で{food}を食べ歩き",
      "{place}のドライブ記録",
      "新しいスーツケースを買った",
      "空港から{place}へのアクセスまとめ",
      "幹線道路沿いの道の駅めぐり",
    ],
    headings: ["空港にて", "ドライブの記録", "旅の持ち物", "宿のこと"],
    sentences: [
      "新千歳空港に着いたのは{hour}ごろだった。",
      "新千歳空港のフードコートで{food}を食べた。",
      "レンタカーを借りて幹線道路を北へ走った。",
      "幹線道路は思ったより空いていて、予定より早く着いた。",
      "新しいスーツケースは軽くて持ち運びが楽だった。",
      "新しい靴で歩きすぎて、夕方には足が痛くなった。",
      "新大阪駅の近くのホテルに{n}泊した。",
      "{place}の市場で{food}をおいしくいただいた。",
      "空港のラウンジでしばらく仕事をしてから出発した。",
      "旅のガイドブックは結局ほとんど開かなかった。",
      "道の駅で地元の野菜と{food}を買った。",
    ],
    list: ["新しいスーツケース", "ガイドブック", "レンタカーの予約", "空港までの電車", "充電ケーブル"],
  },
  tokyo: {
    tags: ["東京", "京都", "散歩"],
    titles: [
      "東京都の美術館をめぐる休日",
      "東京から京都へ、各駅停車の旅",
      "京都の紅葉を見に行った",
      "東京の下町で{food}を食べた",
      "京都で写真を撮る一日",
      "東京都内のおすすめ散歩道",
    ],
    headings: ["東京での一日", "京都の寺", "移動のメモ", "散歩道"],
    sentences: [
      "東京から京都へ移動して、夕方には鴨川のほとりを歩いた。",
      "東京都の補助金の説明会に参加してきた。",
      "東京都内の美術館はどこも平日のほうが空いている。",
      "京都の寺は朝早い時間に行くと人が少ない。",
      "京都駅から市バスに乗って嵐山まで出かけた。",
      "東京の夜景はいつ見ても明るすぎる気がする。",
      "東京都庁の展望室から{place}の方角を眺めた。",
      "京都で食べた湯豆腐が忘れられない。",
      "東京に戻ってから、京都で買ったお茶を{friend}に渡した。",
      "東京と京都は新幹線なら二時間ほどの距離だ。",
      "東京タワーの近くで{food}の店を見つけた。",
      "京都の路地は細くて、歩いているだけで楽しい。",
    ],
    list: ["東京都美術館", "京都の古い町家", "東京駅のお土産", "京都の和菓子", "東京の公園"],
  },
  money: {
    tags: ["お金", "家計"],
    titles: [
      "クレジットカードを一枚にまとめた",
      "確定申告を初めて自分でやってみた",
      "ポイントカードを整理した",
      "家計簿アプリと{n}ヶ月付き合った感想",
      "カードの明細を見直す習慣",
      "クレジットカードの年会費について考える",
    ],
    headings: ["カードの整理", "確定申告のメモ", "家計簿の付け方", "ポイントのこと"],
    sentences: [
      "クレジットカードの明細を月に一度は確認している。",
      "クレジットカードを{n}枚から二枚に減らした。",
      "財布の中のポイントカードを整理したら半分になった。",
      "ポイントカードはアプリに移して、財布を薄くした。",
      "確定申告は二月の後半に終わらせるようにしている。",
      "確定申告の書類をe-Taxで提出した。",
      "映画のエンドクレジットまで席を立たずに見た。",
      "交通系のカードにチャージするのを忘れて改札で止められた。",
      "カードの裏に書かれた番号をメモしておいた。",
      "家計簿は{season}から続けていて、もう{n}ヶ月になる。",
      "医療費の領収書は確定申告まで箱にまとめておく。",
      "クレジットの表記をサイトの下に入れ忘れていた。",
      "SDカードの容量が足りなくなって、新しいものを買った。",
    ],
    list: ["クレジットカード", "ポイントカード", "確定申告の書類", "家計簿アプリ", "SDカード"],
  },
  work: {
    tags: ["仕事", "在宅勤務"],
    titles: [
      "在宅勤務を{n}年続けてわかったこと",
      "勤務先が変わって通勤が楽になった",
      "在宅で仕事をするための机まわり",
      "リモートワークの一日の流れ",
      "在宅勤務の昼ごはん",
    ],
    headings: ["在宅勤務の一日", "机まわり", "通勤のこと", "会議のコツ"],
    sentences: [
      "在宅勤務の日は朝{hour}から仕事を始めている。",
      "在宅勤務になってから、昼ごはんを自分で作るようになった。",
      "在宅で介護をしている{friend}の話を聞いた。",
      "勤務先までは電車で{n}分ほどかかる。",
      "勤務先の近くに新しいカフェができた。",
      "リモートワークでは雑談の時間を意識して作っている。",
      "ノートパソコンを外部モニターにつないで作業している。",
      "ﾊﾟｿｺﾝの前に座りっぱなしにならないよう、タイマーをかけている。",
      "会議が続く日は、合間に窓を開けて空気を入れ替える。",
      "在宅ワーク用に椅子を買い替えたら腰が楽になった。",
      "週に二回だけ出社して、残りは在宅勤務にしている。",
    ],
    list: ["在宅勤務の日程", "勤務先の住所", "外部モニター", "ノートパソコン", "ヘッドセット"],
  },
  ml: {
    tags: ["機械学習", "Python"],
    titles: [
      "機械学習の勉強を始めた",
      "機械学習で家計簿の分類を試す",
      "TypeScriptで学習データを整える",
      "学習塾のアルバイトを思い出した話",
      "機械の調子が悪い日の記録",
    ],
    headings: ["機械学習のメモ", "データの準備", "結果", "反省点"],
    sentences: [
      "機械学習の入門書を{n}章まで読み進めた。",
      "機械学習のモデルに家計簿の項目を分類させてみた。",
      "学習データを{n}件ほど手で作った。",
      "学生の頃、学習塾で数学を教えていた。",
      "工場の機械が止まったというニュースを見た。",
      "Pythonのノートブックで特徴量をいくつか試した。",
      "TypeScriptで前処理のスクリプトを書き直した。",
      "精度はまだ低いが、少しずつ改善している。",
      "深層学習よりも、まずは線形回帰から理解したい。",
      "洗濯機の調子が悪く、機械の音が大きくなってきた。",
    ],
    list: ["機械学習の入門書", "学習データ", "評価の指標", "Python", "TypeScript"],
  },
  cloud: {
    tags: ["AWS", "インフラ", "GitHub Actions"],
    titles: [
      "GitHub Actionsでブログを自動デプロイ",
      "AWSのEC2インスタンスを整理した",
      "S3に静的サイトを置く",
      "Dockerで開発環境をそろえる",
      "TypeScriptの型チェックをCIで回す",
      "AWSの請求額が増えた理由",
      "EC2からコンテナへの移行メモ",
    ],
    headings: ["AWSの設定", "GitHub Actionsのワークフロー", "Dockerのメモ", "コマンド"],
    sentences: [
      "AWSのコンソールでEC2のインスタンスを一覧した。",
      "使っていないEC2インスタンスを{n}台止めた。",
      "ビルドした静的ファイルはS3のバケットに置いている。",
      "GitHub Actionsのワークフローでテストとデプロイを回している。",
      "GitHub Actionsのキャッシュを使うとビルドが{n}分短くなった。",
      "Dockerのイメージを小さくするために、マルチステージビルドにした。",
      "TypeScriptの型エラーはCIで止めるようにした。",
      "AWSの請求額を見て、S3のライフサイクル設定を見直した。",
      "EC2の古いスナップショットを削除した。",
      "Dockerで動かしていたデータベースのバージョンを上げた。",
      "GitHubのリポジトリを公開にしてから、Issueが少しずつ届くようになった。",
      "手元では`docker compose up`で全部が起動する。",
    ],
    list: ["AWSのアカウント", "EC2インスタンス", "S3バケット", "GitHub Actions", "Dockerイメージ"],
    code: [
      "```bash\naws ec2 describe-instances --region ap-northeast-1 \\\n  --query 'Reservations[].Instances[].InstanceId'\n```",
      "```bash\naws s3 sync ./public s3://blog-example-bucket --delete\n```",
      "```bash\ndocker build --no-cache -t blog:latest .\ndocker run --rm -p 8080:80 blog:latest\n```",
      "```yaml\non:\n  push:\n    branches: [main]\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: npx tsc --noEmit\n```",
    ],
  },
  running: {
    tags: ["ランニング", "健康"],
    titles: [
      "雨の日に{n}キロ走った",
      "朝に走る習慣をつけたい",
      "マラソン大会で走った記録",
      "走ってから食べたカレーがおいしい",
      "ランニングシューズを新しくした",
    ],
    headings: ["今日の記録", "走るコース", "雨の日", "食事"],
    sentences: [
      "今朝は川沿いを{n}キロ走った。",
      "雨が降っていたが、予定どおり走った。",
      "毎朝走る習慣をつけたいと思っている。",
      "走ってから飲む水がいちばんおいしい。",
      "マラソン大会では後半に足が止まってしまった。",
      "走り終わったあと、{friend}と{food}を食べた。",
      "雨の日はジムのマシンで走ることにしている。",
      "ゆっくり走るとかえって長い距離を走れる。",
      "走った距離をアプリに記録している🏃",
      "{season}の朝は空気が冷たくて気持ちいい。",
      "新しいシューズで走ったら、足の裏が少し痛くなった。",
    ],
    list: ["ランニングシューズ", "給水ボトル", "雨の日用のウェア", "走った距離の記録", "ストレッチ"],
  },
  food: {
    tags: ["料理", "食べ歩き"],
    titles: [
      "{place}でおいしい{food}を食べた",
      "味噌汁の出汁を取り直した",
      "ありがとうと言われた手料理",
      "{food}を作って食べた週末",
      "おいしいパン屋を見つけた",
    ],
    headings: ["食べたもの", "作り方", "お店のこと", "感想"],
    sentences: [
      "{place}の小さな店で{food}を食べた🍜",
      "昆布とかつお節で出汁を取ったら、味噌汁がおいしくなった。",
      "{friend}にありがとうと言われて、少し照れた。",
      "おいしいものを食べると、それだけで一日が明るくなる。",
      "昨日の夜は{food}を食べた。",
      "パン屋のクロワッサンがとてもおいしかった。",
      "作りすぎたカレーを冷凍しておいた。",
      "お店の人にありがとうございますと言って店を出た。",
      "甘いものを食べすぎないよう気をつけている。",
      "週末は{n}品ほど作り置きをしている🍣",
    ],
    list: ["味噌汁", "{food}", "作り置きのおかず", "パン屋", "昆布とかつお節"],
  },
  camera: {
    tags: ["写真", "カメラ"],
    titles: [
      "新しいカメラで猫を撮る",
      "カメラのレンズを一本追加した",
      "パソコンで写真を整理する方法",
      "雨の日の写真散歩",
      "古いカメラを修理に出した",
    ],
    headings: ["カメラの設定", "レンズ", "写真の整理", "撮った写真"],
    sentences: [
      "新しいカメラは小さくて、毎日持ち歩ける。",
      "カメラのレンズを{n}ミリの単焦点に替えた。",
      "近所の猫を撮らせてもらった🐱",
      "猫は日当たりのいい塀の上で寝ていた。",
      "撮った写真はパソコンに取り込んで整理している。",
      "雨の日は水たまりの反射を撮るのが楽しい☔️",
      "雨が上がったあとの空がきれいだった。",
      "パソコンの画面で見ると、ピントが少し甘かった。",
      "カメラのストラップを革のものに替えた📷",
      "古いフィルムカメラを修理に出した。",
    ],
    list: ["カメラ本体", "単焦点レンズ", "予備のバッテリー", "パソコン", "SDカード"],
  },
  daily: {
    tags: ["日記"],
    titles: [
      "雨の週末の過ごし方",
      "猫と過ごす休日",
      "ありがとうを伝える日",
      "{season}の日記",
      "今年の目標を立てた",
    ],
    headings: ["今日のこと", "家のこと", "最近読んだ本", "思ったこと"],
    sentences: [
      "朝から雨で、一日家にいた。",
      "雨の音を聞きながら本を読んだ。",
      "猫が膝の上で寝てしまい、動けなくなった。",
      "{friend}に手紙でありがとうを伝えた。",
      "部屋の掃除をしたら、古い写真が出てきた。",
      "今年は毎日少しずつ日記を書くことにした✨",
      "近所の公園で桜が咲き始めていた。",
      "夜は早めに寝て、明日に備えた。",
      "家族でオンライン通話をした👨‍👩‍👧",
      "旅行のお土産を{friend}からもらった🎉",
    ],
    list: ["本を読む", "部屋の掃除", "日記を書く", "手紙を書く", "猫の世話"],
  },
};
const TOPIC_NAMES = Object.keys(TOPICS);

// Generic sentences any post may use (no key term in them).
const FILLER = [
  "少し時間が空いたので、ここに書いておく。",
  "次はもう少しうまくやりたい。",
  "思っていたより簡単だった。",
  "細かいところはまた今度まとめたい。",
  "同じことで迷っている人の参考になればうれしい。",
  "結局、いちばん大事なのは続けることだと思う。",
  "やってみると、意外な発見がいくつもあった。",
  "気づいたことを忘れないうちにメモしておく。",
  "今日はここまで。",
  "また来月、続きを書くつもりだ。",
];

// Fixed posts with edge cases of normalisation (each query about them is "edge").
const EDGE_POSTS = [
  {
    slug: "combining-marks",
    title: "合成用の濁点で書かれたガイド",
    tags: ["メモ"],
    body: [
      "古い文書から写した文字には、結合文字の濁点で書かれたものがある。たとえばカ\u3099イト\u3099フ\u3099ックと書くと、見た目はガイドブックと同じになる。",
      "半角でもｶﾞｲﾄﾞﾌﾞｯｸと書ける。年号の㍻や丸数字の①、合字のﬁleも同じように正規化される。",
    ],
  },
  {
    slug: "greek-and-hangul",
    title: "ΣΟΦΟΣ と書かれた看板",
    tags: ["メモ"],
    body: [
      "旅先で見た看板にはギリシャ文字でΣΟΦΟΣと書いてあった。語末のシグマは小文字にすると形が変わる。",
      "ドイツ語ではStraßeと書き、STRASSEとも書く。韓国語の서울という文字も見かけた。",
      // Hangul written decomposed (as some macOS tools save it): 한국 in jamo.
      "分解された形で保存されたハングルの\u1112\u1161\u11ab\u1100\u116e\u11a8という文字列もある。",
      // An ideographic variation sequence: 葛 + VS17 in 葛飾区.
      "異体字セレクタ付きの葛\u{E0100}飾区という表記も残っていた。",
    ],
  },
];

// ---------------------------------------------------------------- text helpers
const fill = (s) => s.replace(/\{(\w+)\}/g, (_, k) => pick(SLOTS[k]));

const FULL_TERMS = ["GitHub", "AWS", "EC2", "S3", "Docker"];
const toFullWidth = (s) =>
  s.replace(/[!-~]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
function fullWidthTerms(s) {
  for (const t of FULL_TERMS) s = s.split(t).join(toFullWidth(t));
  return s;
}
const HALF_KANA = [
  ["カメラ", "ｶﾒﾗ"],
  ["パソコン", "ﾊﾟｿｺﾝ"],
  ["ガイドブック", "ｶﾞｲﾄﾞﾌﾞｯｸ"],
];
function halfWidthKana(s) {
  for (const [a, b] of HALF_KANA) s = s.split(a).join(b);
  return s;
}
// The case of "GitHub Actions" varies between posts.
const ACTION_CASES = ["GitHub Actions", "github actions", "GITHUB ACTIONS", "Github Actions"];

const JA = /^[\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef]$/u;
/// Wraps a paragraph over several lines, as some writers do: at sentence ends and
/// now and then in the middle of a sentence (never inside an ASCII word).
function wrap(p) {
  const chars = [...p];
  let outText = "";
  let since = 0;
  for (let i = 0; i < chars.length; i++) {
    outText += chars[i];
    since++;
    const next = chars[i + 1];
    if (next === undefined) break;
    // Only between two Japanese characters (not inside ASCII words or emoji).
    if (!JA.test(chars[i]) || !JA.test(next)) continue;
    if ((chars[i] === "。" && chance(0.6)) || (since > 25 && chance(0.08))) {
      outText += "\n";
      since = 0;
    }
  }
  return outText;
}

// ---------------------------------------------------------------- posts
/// A sentence of topic t, preferring ones the post has not used yet.
function sentence(t, used) {
  const pool = TOPICS[t].sentences;
  let s = pick(pool);
  for (let tries = 0; used.has(s) && tries < 8; tries++) s = pick(pool);
  used.add(s);
  return fill(s);
}

function paragraph(topics, style, used) {
  const k = int(2, 5);
  const parts = [];
  for (let i = 0; i < k; i++) {
    const t = chance(0.75) ? topics[0] : pick(topics);
    parts.push(chance(0.12) ? pick(FILLER) : sentence(t, used));
  }
  if (chance(0.08)) parts.push(pick(SLOTS.emoji));
  return style(parts.join(""));
}

function post(i, usedKeys) {
  const main = pick(TOPIC_NAMES);
  const others = shuffle(TOPIC_NAMES.filter((t) => t !== main)).slice(0, int(0, 2));
  const topics = [main, ...others];
  const fw = chance(0.15);
  const hk = chance(0.12);
  const actionCase = pick(ACTION_CASES);
  const style = (s) => {
    s = s.split("GitHub Actions").join(actionCase);
    if (fw) s = fullWidthTerms(s);
    if (hk) s = halfWidthKana(s);
    return s;
  };
  let title;
  let date;
  for (;;) {
    title = style(fill(pick(TOPICS[main].titles)));
    const y = int(2019, 2025);
    const m = int(1, 12);
    const d = int(1, 28);
    date = `${y}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
    if (!usedKeys.has(title + date)) break;
  }
  usedKeys.add(title + date);

  const target = int(600, 2300);
  const blocks = [];
  let len = 0;
  const add = (b) => {
    blocks.push(b);
    len += [...b].length;
  };
  let codeDone = false;
  const used = new Set();
  while (len < target) {
    const r = rnd();
    const t = chance(0.7) ? main : pick(topics);
    if (blocks.length > 0 && r < 0.12) {
      add(`## ${style(pick(TOPICS[t].headings))}`);
    } else if (blocks.length > 0 && r < 0.2) {
      const items = shuffle(TOPICS[t].list).slice(0, int(3, 5)).map((x) => style(fill(x)));
      const ordered = chance(0.3);
      add(items.map((x, j) => (ordered ? `${j + 1}. ${x}` : `- ${x}`)).join("\n"));
    } else if (!codeDone && blocks.length > 1 && r < (TOPICS[t].code ? 0.4 : 0.21)) {
      codeDone = true;
      add(pick(TOPICS[t].code ?? TOPICS.cloud.code));
    } else {
      let p = paragraph(topics, style, used);
      if (chance(0.25)) p = wrap(p);
      add(p);
    }
    if (len > 2500) {
      blocks.pop();
      break;
    }
  }
  const tags = [...new Set(topics.flatMap((t) => TOPICS[t].tags))].slice(0, 4);
  const slug = `${main}-${i}`;
  return { slug, title, date, tags, blocks };
}

function frontMatter(p) {
  const q = (s) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
  return `---\ntitle: ${q(p.title)}\ndate: ${p.date}\ntags: [${p.tags.map(q).join(", ")}]\n---\n\n`;
}

// ---------------------------------------------------------------- write
const posts = [];
const usedKeys = new Set();
for (let i = 1; i <= N_POSTS - EDGE_POSTS.length; i++) posts.push(post(i, usedKeys));
EDGE_POSTS.forEach((e, j) =>
  posts.push({ ...e, date: `2025-06-${String(10 + j).padStart(2, "0")}`, blocks: e.body }),
);

const dir = join(out, "content", "posts");
if (existsSync(dir)) rmSync(dir, { recursive: true });
mkdirSync(dir, { recursive: true });
writeFileSync(
  join(out, "site.toml"),
  [
    'title = "検索評価ブログ"',
    'base_url = "https://blog.example.jp/"',
    'language = "ja"',
    'timezone = "Asia/Tokyo"',
    "",
    "[links]",
    "enabled = false",
    "",
  ].join("\n"),
);
let total = 0;
posts.forEach((p, i) => {
  const body = p.blocks.join("\n\n") + "\n";
  total += [...body].length;
  const name = `${String(i + 1).padStart(3, "0")}-${p.slug}.md`;
  writeFileSync(join(dir, name), frontMatter(p) + body);
});
console.error(
  `wrote ${posts.length} posts (${Math.round(total / posts.length)} characters on average) to ${dir}`,
);
