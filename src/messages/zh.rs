//! 中文 (simplified Chinese).
use super::Msg;

pub(super) fn text(msg: Msg) -> &'static str {
    use Msg::*;
    match msg {
        // Every page
        CityName => "行桥市",
        ServerTrouble => "抱歉，系统出现问题。请稍后再试。",
        NotFound => "未找到该页面。",
        Back => "返回",
        // Registration
        FieldRequired => "请填写“{field}”。",
        // Chat
        CallTheCity => "如需电话咨询，请致电行桥市政府（{number}）。",
        // Emergency
        EmergencyHeading => "紧急信息",
        // Notices and surveys
        StopNotices => "停止接收通知",
        // JMA (alerts made from the Japan Meteorological Agency's documents)
        JmaSpecialWarningTitle => "行桥市发布特别警报",
        JmaSpecialWarningBody => {
            "日本气象厅发布了特别警报，危险前所未有。请立即采取保护生命的行动。（气象厅 {time}）"
        }
        JmaWarningTitle => "行桥市发布气象警报",
        JmaWarningBody => "可能发生灾害。请关注最新信息，尽早确保安全。（气象厅 {time}）",
        JmaAdvisoryTitle => "行桥市发布气象注意报",
        JmaAdvisoryBody => "请注意可能发生的灾害。（气象厅 {time}）",
        JmaLandslideTitle => "行桥市发布泥石流警戒信息",
        JmaLandslideBody => {
            "发生泥石流、山体滑坡的危险非常高。住在山坡附近的人请立即到安全的地方避难。（气象厅 {time}）"
        }
        JmaRecordRainTitle => "行桥市记录性短时间暴雨",
        JmaRecordRainBody => {
            "正在下极强的暴雨。请远离河流和山坡，采取保护生命的行动。（气象厅 {time}）"
        }
        JmaFloodTitle => "行桥市河流洪水预报",
        JmaFloodBody => "{river}可能泛滥。住在河边的人请到安全的地方避难。（气象厅 {time}）",
        JmaLiftedTitle => "气象警报已解除（行桥市）",
        JmaLiftedBody => "气象厅已于 {time} 解除行桥市的以下信息：{kinds}。",
        JmaCancelledTitle => "气象厅信息已撤销（行桥市）",
        JmaCancelledBody => "气象厅已撤销先前发送的信息。（气象厅 {time}）",
    }
}
